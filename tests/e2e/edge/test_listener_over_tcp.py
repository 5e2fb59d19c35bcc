"""The engine's port: websocket upgrades go to the engine's own websocket server, all else to
hypercorn (engine/edge/listener.py, websocket.py). Driven with wsproto over raw TCP, so each test
can do what an ordinary client library never does: fragment frames, send a control ping, split a
request head across segments, upgrade on a keep-alive connection. The request head's check and
the server socket's writes without an engine: tests/unit/engine/edge/test_listener.py and
test_websocket_send.py."""

from __future__ import annotations

from urllib.parse import urlsplit

import trio
from conftest import Engine
from rawws import RawClient, fragments, read_response
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Pong

UPGRADE = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


async def test_hello_split_into_fragments_and_a_head_split_into_segments(engine: Engine) -> None:
    info = await engine.login("agent1@demo.test")
    client = await RawClient.open(engine)
    assert isinstance(await client.handshake(chunk=7), AcceptConnection)
    await client.send(*fragments({"type": "hello", "token": info["token"]}, 4))
    welcome = await client.frame()
    assert welcome["type"] == "welcome" and welcome["role"] == "agent"
    await client.send(*fragments({"type": "ping"}, 3))
    assert (await client.frame())["type"] == "pong"


async def test_control_ping_is_answered_with_its_payload(engine: Engine) -> None:
    client = await RawClient.open(engine)
    await client.handshake()
    await client.send(Ping(payload=b"are-you-there"))
    pong = await client.next_event(Pong)
    assert isinstance(pong, Pong) and pong.payload == b"are-you-there"


async def test_fragments_adding_up_to_more_than_64_kib_close_with_1009(engine: Engine) -> None:
    info = await engine.login("agent1@demo.test")
    client = await RawClient.open(engine)
    await client.handshake()
    await client.send(*fragments({"type": "hello", "token": info["token"]}, 1))
    await client.frame("welcome")
    piece = "x" * 30_000
    await client.send(Message(data=piece, message_finished=False), Message(data=piece, message_finished=False),
                      Message(data=piece, message_finished=True))
    closed = await client.next_event(CloseConnection)
    assert isinstance(closed, CloseConnection) and closed.code == 1009


async def test_multibyte_text_is_measured_in_bytes(engine: Engine) -> None:
    """22,000 characters of three bytes each are 66,000 bytes: over the limit."""
    client = await RawClient.open(engine)
    await client.handshake()
    await client.send(Message(data="€" * 22_000))
    closed = await client.next_event(CloseConnection)
    assert isinstance(closed, CloseConnection) and closed.code == 1009


async def test_client_close_is_answered_and_the_session_ends(engine: Engine) -> None:
    info = await engine.login("agent1@demo.test")
    client = await RawClient.open(engine)
    await client.handshake()
    await client.send(*fragments({"type": "hello", "token": info["token"]}, 1))
    await client.frame("welcome")
    await client.send(CloseConnection(code=1000))
    answer = await client.next_event(CloseConnection)
    assert isinstance(answer, CloseConnection) and answer.code == 1000
    with trio.fail_after(5):
        assert await client.stream.receive_some(100) == b""     # and the server closed TCP


async def test_upgrade_without_a_key_gets_400(engine: Engine) -> None:
    url = urlsplit(engine.base)
    stream = await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80)
    await stream.send_all(UPGRADE)     # no Sec-WebSocket-Key, no version
    with trio.fail_after(5):
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += await stream.receive_some(4096)
    assert answer.startswith(b"HTTP/1.1 400")


async def test_websocket_after_plain_http_on_one_keep_alive_connection(engine: Engine) -> None:
    """The second request of a connection never reaches the listener's check; Quart's /ws serves it."""
    info = await engine.login("agent1@demo.test")
    client = await RawClient.open(engine)
    await client.stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head = await read_response(client.stream)
    assert head.startswith(b"HTTP/1.1 200")
    assert isinstance(await client.handshake(), AcceptConnection)
    await client.send(*fragments({"type": "hello", "token": info["token"]}, 2))
    assert (await client.frame())["type"] == "welcome"


async def test_plain_http_split_into_segments_is_served(engine: Engine) -> None:
    url = urlsplit(engine.base)
    stream = await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80)
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    for i in range(0, len(request), 3):
        await stream.send_all(request[i:i + 3])
    assert (await read_response(stream)).startswith(b"HTTP/1.1 200")
