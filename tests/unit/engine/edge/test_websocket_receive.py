"""The receive side of ServerSocket (engine/edge/websocket.py): simple text frames are parsed by the
engine, every other frame by wsproto. Whatever a client sends — random text, fragments, binary
messages, pings between fragments, cut into random TCP segments — must come out exactly as
wsproto alone would give it, in order, each ping answered and reported; bad frames close with the
right code."""

from __future__ import annotations

import os
import struct

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType
from wsproto.connection import Connection as WsprotoConnection
from wsproto.events import CloseConnection, Message, Ping, Pong

from frontdesk.engine.edge.websocket import ControlFrame, ServerSocket, SocketClosed, frame_length, unmask

MAX = 1 << 16


async def socket_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    client = await trio.testing.open_stream_to_socket_listener(listener)
    server = await listener.accept()
    await listener.aclose()
    return client, server


message = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=300), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("bytes"), st.binary(max_size=200), st.integers(1, 2), st.booleans()),
)


def client_bytes(messages: list[tuple[str, object, int, bool]]) -> tuple[bytes, list[str | bytes], int]:
    """What a wsproto client sends for ``messages`` (each cut into fragments, maybe a ping between)."""
    conn = WsprotoConnection(ConnectionType.CLIENT)
    out, expected, pings = b"", [], 0
    for kind, data, pieces, ping in messages:
        size = max(1, len(data) // pieces)   # type: ignore[arg-type]
        parts = [data[i:i + size] for i in range(0, len(data), size)] or [data]   # type: ignore[index]
        for i, part in enumerate(parts):
            out += conn.send(Message(data=part, message_finished=i == len(parts) - 1))
            if ping and i == 0:
                out += conn.send(Ping(payload=b"p"))
                pings += 1
        expected.append(data if kind == "text" else bytes(data))   # type: ignore[arg-type]
    return out, expected, pings


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message, min_size=1, max_size=12), st.integers(1, 97))
def test_any_mix_of_frames_in_any_segments_arrives_as_wsproto_would_give_it(
        messages: list[tuple[str, object, int, bool]], segment: int) -> None:
    data, expected, pings = client_bytes(messages)

    async def main() -> None:
        client, server_stream = await socket_pair()
        server = ServerSocket(server_stream, WsprotoConnection(ConnectionType.SERVER), MAX)
        received: list[str | bytes] = []
        controls = 0
        all_received = trio.Event()

        async def read_all() -> None:     # as a Session does: receive until the socket closes
            nonlocal controls
            try:
                while True:
                    got = await server.receive()
                    if isinstance(got, ControlFrame):
                        controls += 1
                    else:
                        received.append(got)
                    if len(received) == len(expected):
                        all_received.set()
            except SocketClosed:
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            for i in range(0, len(data), segment):
                await client.send_all(data[i:i + segment])
            pong_conn = WsprotoConnection(ConnectionType.CLIENT)
            pongs = 0
            with trio.fail_after(10):
                await all_received.wait()
                while pongs < pings:
                    pong_conn.receive_data(await client.receive_some(65536))
                    pongs += sum(isinstance(e, Pong) for e in pong_conn.events())
            nursery.cancel_scope.cancel()
        assert received == expected
        assert pongs == pings == controls
        await client.aclose()
        await server_stream.aclose()

    trio.run(main)


def masked_frame(first: int, payload: bytes, key: bytes = b"\x01\x02\x03\x04") -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    return head + key + unmask(payload, key)


async def closed_with(frames: bytes) -> int | None:
    client, server_stream = await socket_pair()
    server = ServerSocket(server_stream, WsprotoConnection(ConnectionType.SERVER), MAX)
    await client.send_all(frames)
    with trio.fail_after(5):
        try:
            await server.receive()
        except SocketClosed:
            pass
        conn = WsprotoConnection(ConnectionType.CLIENT)
        while True:
            data = await client.receive_some(65536)
            if not data:
                return None
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, CloseConnection):
                    return event.code


async def test_invalid_utf8_closes_with_1007() -> None:
    assert await closed_with(masked_frame(0x81, b"ok \xff\xfe")) == 1007


async def test_an_unmasked_client_frame_closes_with_1002() -> None:
    assert await closed_with(bytes((0x81, 2)) + b"hi") == 1002


async def test_a_frame_longer_than_the_limit_closes_with_1009_before_it_arrives() -> None:
    head = struct.pack("!BBQ", 0x81, 0x80 | 127, MAX + 1) + b"\x00\x00\x00\x00"
    assert await closed_with(head) == 1009


async def test_rsv_bits_without_an_extension_close_with_1002() -> None:
    assert await closed_with(masked_frame(0xC1, b"{}")) == 1002     # wsproto judges it: not a simple frame


async def test_a_reader_waiting_when_its_socket_is_closed_ends_with_socket_closed() -> None:
    client, server_stream = await socket_pair()
    server = ServerSocket(server_stream, WsprotoConnection(ConnectionType.SERVER), MAX)
    outcome: list[BaseException] = []

    async def reader(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await server.receive()
        except SocketClosed as exc:
            outcome.append(exc)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(reader)
            await trio.testing.wait_all_tasks_blocked()     # the reader waits for the socket
            await server_stream.aclose()
    assert len(outcome) == 1
    await client.aclose()


async def test_a_closed_socket_is_never_read_even_when_its_number_is_reused() -> None:
    """The reader reads the descriptor directly; once its socket is closed the number may belong to
    a newer connection, whose bytes must never reach this reader."""
    client, server_stream = await socket_pair()
    server = ServerSocket(server_stream, WsprotoConnection(ConnectionType.SERVER), MAX)
    number = server_stream.socket.fileno()
    newer_client, newer_server = await socket_pair()
    await server_stream.aclose()
    os.dup2(newer_server.socket.fileno(), number)       # the freed number now reaches the newer connection
    try:
        await newer_client.send_all(masked_frame(0x81, b"not yours"))
        with trio.fail_after(5), pytest.raises(SocketClosed):
            await server.receive()
        assert await newer_server.receive_some(100)      # the newer connection's bytes are all still there
    finally:
        os.close(number)
        for stream in (client, newer_client, newer_server):
            await stream.aclose()


def test_frame_length_reads_every_header_form() -> None:
    assert frame_length(b"\x81") is None
    assert frame_length(bytes((0x81, 0x85))) == (6, 5)
    assert frame_length(bytes((0x81, 0xFE, 0x01))) is None
    assert frame_length(bytes((0x81, 0xFE, 0x01, 0x00))) == (8, 256)
    assert frame_length(struct.pack("!BBQ", 0x81, 0xFF, 70_000)) == (14, 70_000)
    assert frame_length(bytes((0x81, 0x05))) == (2, 5)       # unmasked: no key


def test_unmask_is_its_own_inverse_and_matches_bytewise_xor() -> None:
    key = b"\x9a\x01\xff\x30"
    for n in (0, 1, 3, 4, 5, 125, 1000):
        payload = bytes(range(256)) * 4
        payload = payload[:n]
        assert unmask(payload, key) == bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        assert unmask(unmask(payload, key), key) == payload



@pytest.mark.parametrize("payload", [b"y" * (MAX + 1), "ÿ".encode() * (MAX // 2 + 1), bytes(range(256)) * 300])
async def test_the_rest_of_a_frame_over_the_limit_is_skipped_while_the_close_handshake_completes(
        payload: bytes) -> None:
    """A client is still sending its oversized frame when the 1009 comes, and one more frame after
    it: the rest of that frame is no frame to parse, so the server skips it and waits for the client's
    close instead of cutting the connection (which a client sees as 1006, no close frame at all)."""
    client, server_stream = await socket_pair()
    server = ServerSocket(server_stream, WsprotoConnection(ConnectionType.SERVER), MAX)
    conn = WsprotoConnection(ConnectionType.CLIENT)
    oversized = masked_frame(0x81, payload)

    async def serve() -> None:
        with pytest.raises(SocketClosed):
            await server.receive()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            await client.send_all(oversized[:1000])
            close = None
            while close is None:
                conn.receive_data(await client.receive_some(65536))
                close = next((e for e in conn.events() if isinstance(e, CloseConnection)), None)
            assert close.code == 1009
            await client.send_all(oversized[1000:] + masked_frame(0x81, b'{"type":"ping"}'))
            await trio.testing.wait_all_tasks_blocked()     # the server has read all of it
            await client.send_all(conn.send(close.response()))
            assert await client.receive_some(65536) == b""     # a clean end, not a reset
    await client.aclose()
