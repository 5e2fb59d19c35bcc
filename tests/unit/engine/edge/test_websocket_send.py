"""The send side of the engine's websocket server (engine/edge/websocket.py): a text frame as
wsproto would write it, and ServerSocket's writes on a loopback socket whose buffers fill (the
receive side: test_websocket_receive.py; the server against a real engine:
tests/e2e/edge/test_listener_over_tcp.py)."""

from __future__ import annotations

import socket as std_socket

import pytest
import trio
import trio.testing
from wsproto import ConnectionType
from wsproto.connection import Connection as WsprotoConnection
from wsproto.events import Message, TextMessage

from frontdesk.engine.edge.websocket import NOT_SENT, PARTLY_SENT, SENT, ServerSocket, text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_is_what_wsproto_would_send(size: int) -> None:
    text = ("ä" * size)[:size] if size % 2 else "x" * size
    assert text_frame(text) == WsprotoConnection(ConnectionType.SERVER).send(Message(data=text))


async def test_frames_written_at_once_then_in_part_then_queued_arrive_whole_and_in_order() -> None:
    """ServerSocket.send_now on a socket whose buffers fill: SENT while there is room, then
    PARTLY_SENT (the rest waits inside) and NOT_SENT; send_frames writes the rest first."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    reader = await trio.testing.open_stream_to_socket_listener(listener)
    writer = await listener.accept()
    writer.setsockopt(std_socket.SOL_SOCKET, std_socket.SO_SNDBUF, 8192)
    reader.setsockopt(std_socket.SOL_SOCKET, std_socket.SO_RCVBUF, 8192)
    server = ServerSocket(writer, WsprotoConnection(ConnectionType.SERVER), 1 << 20)
    frames = [f"{n:04d}" + "x" * 3000 for n in range(60)]
    outcomes, queued = [], []
    for frame in frames:
        outcome = server.send_now(frame) if not queued else NOT_SENT
        outcomes.append(outcome)
        if outcome == NOT_SENT:
            queued.append(frame)
        elif outcome == PARTLY_SENT:
            queued.append(None)
    assert outcomes[0] == SENT and PARTLY_SENT in outcomes and outcomes[-1] == NOT_SENT

    client_conn = WsprotoConnection(ConnectionType.CLIENT)   # a connection past its handshake
    received: list[str] = []
    part = ""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.send_frames, [f for f in queued if f is not None])
        with trio.fail_after(5):
            while len(received) < len(frames):
                client_conn.receive_data(await reader.receive_some(65536))
                for event in client_conn.events():
                    assert isinstance(event, TextMessage)
                    part += event.data
                    if event.message_finished:
                        received.append(part)
                        part = ""
    assert received == frames


async def test_frames_sent_together_arrive_in_one_read_in_order() -> None:
    """ServerSocket.send_now(a, b): one write (a message's ack and its echo to the sender)."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    reader = await trio.testing.open_stream_to_socket_listener(listener)
    server = ServerSocket(await listener.accept(), WsprotoConnection(ConnectionType.SERVER), 1 << 20)
    assert server.send_now('{"type":"ack"}', '{"type":"message"}') == SENT
    client_conn = WsprotoConnection(ConnectionType.CLIENT)
    with trio.fail_after(5):
        client_conn.receive_data(await reader.receive_some(65536))
    assert [e.data for e in client_conn.events() if isinstance(e, TextMessage)] == ['{"type":"ack"}',
                                                                                    '{"type":"message"}']
