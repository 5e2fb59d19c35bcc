"""The engine's port: websocket upgrades go to the engine's own websocket server, all else to
hypercorn (engine/edge/listener.py, websocket.py). Driven with wsproto over raw TCP, so each test
can do what an ordinary client library never does: fragment frames, send a control ping, split a
request head across segments, upgrade on a keep-alive connection. The request head's check and
the server socket's writes without an engine: tests/unit/engine/edge/test_listener.py and
test_websocket_send.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson
import trio
from conftest import Engine
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)


class RawClient:
    """A websocket client made by hand: wsproto over a plain trio TCP stream."""

    def __init__(self, stream: trio.SocketStream):
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: list[Event] = []
        self.text: list[str] = []

    @classmethod
    async def open(cls, engine: Engine) -> RawClient:
        url = urlsplit(engine.base)
        return cls(await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80))

    async def handshake(self, host: str = "localhost", extra: list[tuple[bytes, bytes]] | None = None,
                        chunk: int | None = None) -> Event:
        data = self.ws.send(Request(host=host, target="/ws", extra_headers=extra or []))
        step = chunk or len(data)
        for i in range(0, len(data), step):
            await self.stream.send_all(data[i:i + step])
        return await self.next_event(AcceptConnection, RejectConnection)

    async def next_event(self, *kinds: type[Event], timeout: float = 5.0) -> Event:
        with trio.fail_after(timeout):
            while True:
                for event in self.ws.events():
                    self.events.append(event)
                    if isinstance(event, TextMessage):
                        self.text.append(event.data)
                    if isinstance(event, kinds):
                        return event
                data = await self.stream.receive_some(65536)
                self.ws.receive_data(data or None)
                if not data:
                    raise EOFError("the server closed the connection")

    async def send(self, *events: Event) -> None:
        await self.stream.send_all(b"".join(self.ws.send(e) for e in events))

    async def frame(self, type_: str | None = None) -> dict[str, Any]:
        """The next JSON frame (of ``type_``)."""
        while True:
            while self.text:
                frame = dict(orjson.loads(self.text.pop(0)))
                if type_ is None or frame["type"] == type_:
                    return frame
            await self.next_event(TextMessage)


def fragments(obj: dict[str, Any], pieces: int) -> list[Event]:
    text = orjson.dumps(obj).decode()
    size = max(1, len(text) // pieces)
    parts = [text[i:i + size] for i in range(0, len(text), size)]
    return [Message(data=p, message_finished=i == len(parts) - 1) for i, p in enumerate(parts)]


async def read_response(stream: trio.SocketStream) -> bytes:
    """One HTTP response with a content-length, read whole; its head is returned."""
    with trio.fail_after(5):
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += await stream.receive_some(4096)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += await stream.receive_some(4096)
    return head


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
