"""One server-side websocket on a trio stream, with wsproto: the socket a Session talks to.

The front door (``front_door.py``) hands every ``GET /ws`` upgrade here, so a websocket costs
one trio stream, one wsproto ``Connection`` and no extra task: the Session's reader task reads
the socket itself, and its writer sends every frame that is waiting in one ``send_all``
(``send_frames``). Frames over ``max_message_bytes`` close the socket with 1009, as PROTOCOL.md
§4 asks. ``QuartSocket`` gives a websocket upgraded through hypercorn (a connection that
carried plain HTTP first) the same three methods.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Protocol

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

CLOSE_TOO_BIG = 1009
CLOSE_PROTOCOL_ERROR = 1002
HANDSHAKE_TIMEOUT_S = 10.0
CLOSING_TIMEOUT_S = 2.0
RECEIVE_BYTES = 65536


class SocketClosed(Exception):
    """The peer closed the websocket (or the connection broke)."""


class Socket(Protocol):
    """What a Session needs of its websocket."""

    async def receive(self) -> str | bytes: ...

    async def send_frames(self, frames: list[str]) -> None: ...

    async def close(self, code: int) -> None: ...


class Handshake:
    """The upgrade request read off a fresh connection, before it is accepted or refused."""

    def __init__(self, stream: trio.abc.Stream, head: bytes):
        self.stream = stream
        self._ws = WSConnection(ConnectionType.SERVER)
        self._head = bytes(head)
        self.headers: dict[str, str] = {}
        self.request: Request | None = None

    async def read(self) -> bool:
        """Read until wsproto has the whole request; False (after a 400) when it is not a valid upgrade."""
        data, self._head = self._head, b""
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S):
            while True:
                try:
                    self._ws.receive_data(data)
                    for event in self._ws.events():
                        if isinstance(event, Request):
                            self.request = event
                            self.headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                                            for k, v in event.extra_headers}
                            return True
                except RemoteProtocolError as exc:
                    await self._send_reject(400, str(exc).encode())
                    return False
                data = bytes(await self.stream.receive_some(RECEIVE_BYTES))
                if not data:
                    return False
        return False

    async def refuse(self, status: int, body: str) -> None:
        await self._send_reject(status, body.encode())
        await self.stream.aclose()

    async def _send_reject(self, status: int, body: bytes) -> None:
        """A plain HTTP answer (wsproto's handshake may be in an error state by now)."""
        reason = HTTPStatus(status).phrase.encode()
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, reason, len(body)))
        try:
            await self.stream.send_all(head + body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def accept(self, max_message_bytes: int) -> ServerSocket:
        data = self._ws.send(AcceptConnection())
        connection = self._ws.connection
        assert connection is not None
        await self.stream.send_all(data)
        return ServerSocket(self.stream, connection, max_message_bytes)


class ServerSocket:
    """An accepted websocket. ``receive`` belongs to one task, ``send_frames`` to another."""

    def __init__(self, stream: trio.abc.Stream, connection: Connection, max_message_bytes: int):
        self._stream = stream
        self._conn = connection
        self._max = max_message_bytes
        self._send_lock = trio.StrictFIFOLock()
        self._parts: list[str | bytes] = []
        self._size = 0
        self._closed = False

    async def receive(self) -> str | bytes:
        while True:
            for event in self._conn.events():
                message = await self._on_event(event)
                if message is not None:
                    return message
            if self._closed:
                raise SocketClosed
            try:
                data = await self._stream.receive_some(RECEIVE_BYTES)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._closed = True
                raise SocketClosed from exc
            try:
                self._conn.receive_data(bytes(data) if data else None)
            except RemoteProtocolError:   # pragma: no cover - wsproto turns frame errors into events
                await self.close(CLOSE_PROTOCOL_ERROR)
                raise SocketClosed from None

    async def _on_event(self, event: Any) -> str | bytes | None:
        if isinstance(event, TextMessage | BytesMessage):
            return await self._on_message(event)
        if isinstance(event, Ping):
            await self._send(self._conn.send(event.response()))
        elif isinstance(event, CloseConnection):
            if self._conn.state is ConnectionState.REMOTE_CLOSING:
                await self._send(self._conn.send(event.response()))
            self._closed = True
            await self._stream.aclose()
            raise SocketClosed
        return None

    async def _on_message(self, event: TextMessage | BytesMessage) -> str | bytes | None:
        part: str | bytes = event.data if isinstance(event.data, str) else bytes(event.data)
        self._size += len(part) if isinstance(part, bytes) else len(part.encode())
        if self._size > self._max:
            await self.close(CLOSE_TOO_BIG)
            raise SocketClosed
        self._parts.append(part)
        if not event.message_finished:
            return None
        parts, self._parts, self._size = self._parts, [], 0
        if len(parts) == 1:
            return parts[0]
        if isinstance(part, str):
            return "".join(p for p in parts if isinstance(p, str))
        return b"".join(p for p in parts if isinstance(p, bytes))

    async def send_frames(self, frames: list[str]) -> None:
        if self._closed or self._conn.state is not ConnectionState.OPEN:
            raise SocketClosed
        await self._send(b"".join([self._conn.send(Message(data=f)) for f in frames]))

    async def _send(self, data: bytes) -> None:
        async with self._send_lock:
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._closed = True
                raise SocketClosed from exc

    async def close(self, code: int) -> None:
        """Send a close frame, wait (briefly) for the peer's, then close the stream."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._conn.state is ConnectionState.OPEN:
                async with self._send_lock:
                    await self._stream.send_all(self._conn.send(CloseConnection(code=code)))
                with trio.move_on_after(CLOSING_TIMEOUT_S):
                    await self._await_peer_close()
        except (trio.BrokenResourceError, trio.ClosedResourceError, RemoteProtocolError):
            pass
        finally:
            await self._stream.aclose()


    async def _await_peer_close(self) -> None:
        """Read (and drop) what the peer still sends, up to its close frame or EOF."""
        while True:
            data = await self._stream.receive_some(RECEIVE_BYTES)
            if not data:
                return
            self._conn.receive_data(bytes(data))
            if any(isinstance(event, CloseConnection) for event in self._conn.events()):
                return


class QuartSocket:
    """A websocket that hypercorn upgraded (Quart's ``websocket``), seen as a ``Socket``."""

    def __init__(self, ws: Any):
        self._ws = ws

    async def receive(self) -> str | bytes:
        data: str | bytes = await self._ws.receive()
        return data

    async def send_frames(self, frames: list[str]) -> None:
        for frame in frames:
            await self._ws.send(frame)

    async def close(self, code: int) -> None:
        await self._ws.close(code)
