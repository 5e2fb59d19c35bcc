"""One server-side websocket on a trio stream, with wsproto: the socket a Session talks to.

The listener (``listener.py``) hands every ``GET /ws`` upgrade here, so a websocket costs
one trio stream, one wsproto ``Connection`` and no extra task: the Session's reader task reads
the socket itself, and its writer sends every frame that is waiting in one ``send_all``
(``send_frames``). Frames over ``max_message_bytes`` close the socket with 1009, as PROTOCOL.md
§4 asks. A ping is answered here, as RFC 6455 §5.5.2 requires, and ``receive`` reports it (and
any pong) as ``CONTROL``, so that the Session counts it against the rate limit like any frame: a
flood of pings would otherwise cost the engine without ever reaching a limit. ``QuartSocket``
gives a websocket upgraded through hypercorn (a connection that carried plain HTTP first) the
same three methods; hypercorn answers pings itself, unseen by the Session.
"""

from __future__ import annotations

import os
import struct
from http import HTTPStatus
from typing import Any, Protocol

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

SENT, NOT_SENT, PARTLY_SENT = 0, 1, 2     # what send_now did

CLOSE_TOO_BIG = 1009
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_BAD_DATA = 1007
HANDSHAKE_TIMEOUT_S = 10.0
CLOSING_TIMEOUT_S = 2.0
RECEIVE_BYTES = 65536
# Every socket reads into this one buffer and keeps an exact-size copy of what came. Reading into a
# fresh 64-KiB object per read, as os.read does, has the C allocator carve each read out of its heap
# and shrink it to what came; with a thousand sockets reading between longer-lived allocations, the
# heap keeps the holes those reads leave. One buffer is enough: nothing awaits between a read and
# its copy.
_READ_BUFFER = memoryview(bytearray(RECEIVE_BYTES))


def text_frame(text: str) -> bytes:
    """One unfragmented server-to-client text frame (RFC 6455 §5.2: FIN + opcode 1, no mask).

    What wsproto's ``send(Message(...))`` produces, at a twentieth of its cost (0.2 instead of
    4 µs; three frames go out per chat message). Control frames still go through wsproto."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def frame_length(data: bytes | bytearray) -> tuple[int, int] | None:
    """(header length incl. the mask, payload length) of the frame ``data`` starts with; None while
    its header is incomplete (RFC 6455 §5.2)."""
    if len(data) < 2:
        return None
    masked, n = data[1] & 0x80, data[1] & 0x7F
    head = 2
    if n == 126:
        head = 4
        if len(data) < head:
            return None
        n = int.from_bytes(data[2:4], "big")
    elif n == 127:
        head = 10
        if len(data) < head:
            return None
        n = int.from_bytes(data[2:10], "big")
    return head + (4 if masked else 0), n


def unmask(payload: bytes | bytearray, key: bytes | bytearray) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``key``, as one big-integer operation (C speed)."""
    n = len(payload)
    mask = (bytes(key) * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(mask, "little")).to_bytes(n, "little")


class ControlFrame:
    """A ping or a pong the client sent (already answered)."""

    __slots__ = ()


CONTROL = ControlFrame()


class SocketClosed(Exception):
    """The peer closed the websocket (or the connection broke)."""


class Socket(Protocol):
    """What a Session needs of its websocket."""

    async def receive(self) -> str | bytes | ControlFrame: ...

    def send_now(self, *frames: str) -> int: ...

    async def send_frames(self, frames: list[str]) -> None: ...

    async def close(self, code: int) -> None: ...


class Handshake:
    """The upgrade request read off a fresh connection, before it is accepted or refused."""

    def __init__(self, stream: trio.SocketStream, head: bytes):
        self.stream = stream
        self._ws = WSConnection(ConnectionType.SERVER)
        self._head = bytes(head)
        self.headers: dict[str, str] = {}

    async def read(self) -> bool:
        """Read until wsproto has the whole request; False (after a 400) when it is not a valid upgrade."""
        data, self._head = self._head, b""
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S):
            while True:
                try:
                    self._ws.receive_data(data)
                    for event in self._ws.events():
                        if isinstance(event, Request):
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

    def __init__(self, stream: trio.SocketStream, connection: Connection, max_message_bytes: int):
        self._stream = stream
        self._fd = stream.socket.fileno()
        self._conn = connection
        self._max = max_message_bytes
        self._send_lock = trio.StrictFIFOLock()
        self._parts: list[str | bytes] = []
        self._size = 0
        self._closed = False
        self._rest = b""        # what send_now could not write; send_frames writes it first
        self._inbox = bytearray()       # bytes read and not yet parsed
        self._wsproto_message = False   # wsproto holds the first fragments of a message
        self._skip = 0                  # bytes still to come of a frame refused unread (over the limit)

    async def receive(self) -> str | bytes | ControlFrame:
        """The next whole message, or ``CONTROL`` for a ping or pong. Complete, unfragmented, masked
        text frames (nearly every frame a client sends) are parsed here; every other frame
        (fragments, binary, control frames, anything malformed) goes whole to wsproto, which keeps
        the protocol's rules: its general parser costs the hot path more than the rest of a
        message's reading."""
        while True:
            for event in self._conn.events():
                message = await self._on_event(event)
                if message is not None:
                    return message
            if self._closed:
                raise SocketClosed
            taken = await self._take_frame()
            if isinstance(taken, str):
                return taken
            if taken:
                continue        # wsproto was given a frame: its events first
            try:
                data = await self._read()
            except (OSError, trio.ClosedResourceError) as exc:
                self._closed = True
                raise SocketClosed from exc
            if data:
                self._inbox += data
                continue
            try:
                self._conn.receive_data(None)
            except RemoteProtocolError:   # pragma: no cover - wsproto turns frame errors into events
                await self.close(CLOSE_PROTOCOL_ERROR)
                raise SocketClosed from None

    async def _read(self) -> bytes:
        """What the socket holds (b"" at its end), read with one system call, as ``send_now`` writes.

        trio's ``SocketStream.receive_some`` does the same read through its stream, socket and
        error-translation layers, each a coroutine or a context manager made per call and kept
        alive while the reader waits, for the garbage collector to walk. Like it, this checkpoints
        once per read: a read that found bytes still lets every other task run, and a cancelled
        reader stops. The descriptor is only read while the stream's socket still holds it (a
        closed socket reports -1, so a number reused by a newer connection is never read).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        waited = False
        while True:
            if self._stream.socket.fileno() != self._fd:
                raise trio.ClosedResourceError("the socket was closed")
            try:
                got = os.readv(self._fd, (_READ_BUFFER,))
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self._fd)     # ClosedResourceError if it is closed meanwhile
                waited = True
                continue
            data = bytes(_READ_BUFFER[:got])
            if not waited:
                await trio.lowlevel.cancel_shielded_checkpoint()
            return data

    async def _take_frame(self) -> str | bool:
        """The text of a simple text frame; or True once another whole frame went to wsproto; or
        False while no whole frame has arrived."""
        buf = self._inbox
        size = frame_length(buf)
        if size is None:
            return False
        head, n = size
        if n > self._max:
            # the rest of the frame is no frame to parse: skipped while the close handshake runs
            self._skip = head + n - len(buf)
            del buf[:head + n]
            await self.close(CLOSE_TOO_BIG)
            raise SocketClosed
        if len(buf) < head + n:
            return False
        frame = bytes(buf[:head + n])
        del buf[:head + n]
        first, masked = frame[0], frame[1] & 0x80
        if first == 0x81 and masked and not self._wsproto_message:   # FIN, no RSV bits, text
            try:
                return unmask(frame[head:], frame[head - 4:head]).decode()
            except UnicodeDecodeError:
                await self.close(CLOSE_BAD_DATA)
                raise SocketClosed from None
        if first & 0x0F in (0, 1, 2):   # a data frame: a message starts or goes on, or ends (FIN)
            self._wsproto_message = not first & 0x80
        try:
            self._conn.receive_data(frame)
        except RemoteProtocolError:   # pragma: no cover - wsproto turns frame errors into events
            await self.close(CLOSE_PROTOCOL_ERROR)
            raise SocketClosed from None
        return True

    async def _on_event(self, event: Any) -> str | bytes | ControlFrame | None:
        if isinstance(event, TextMessage | BytesMessage):
            return await self._on_message(event)
        if isinstance(event, Ping):
            await self._send(self._conn.send(event.response()))
            return CONTROL
        if isinstance(event, Pong):
            return CONTROL
        if isinstance(event, CloseConnection):
            if self._conn.state is ConnectionState.REMOTE_CLOSING:      # the peer closes: answer it
                await self._send(self._conn.send(event.response()))
            elif self._conn.state is ConnectionState.OPEN:              # wsproto refused a frame
                await self._send(self._conn.send(CloseConnection(code=event.code)))
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

    def send_now(self, *frames: str) -> int:
        """Write ``frames`` now, in one write and without waiting, if the socket takes them.

        Only for a caller that knows nothing else is queued for this socket (the Session). SENT:
        written whole; NOT_SENT: nothing written (the socket is busy or its buffer full): queue them;
        PARTLY_SENT: the rest waits here and the next ``send_frames`` writes it first.
        """
        if self._closed or self._rest or self._send_lock.locked() or self._conn.state is not ConnectionState.OPEN:
            return NOT_SENT
        data = text_frame(frames[0]) if len(frames) == 1 else b"".join([text_frame(f) for f in frames])
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            return NOT_SENT
        except OSError:
            self._closed = True     # the peer is gone; the reader ends the session
            return SENT
        if written == len(data):
            return SENT
        self._rest = data[written:]
        return PARTLY_SENT

    async def send_frames(self, frames: list[str]) -> None:
        if self._closed or self._conn.state is not ConnectionState.OPEN:
            raise SocketClosed
        rest, self._rest = self._rest, b""
        await self._send(rest + b"".join([text_frame(f) for f in frames]))

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
        """Read (and drop) what the peer still sends, up to its close frame or EOF: first the bytes read
        and not parsed yet, less what is left of a frame refused unread. Stopping short would close a
        socket with unread bytes, which the kernel answers with a reset: the peer would never read
        the close frame and see 1006 instead of the code it was sent."""
        data = bytes(self._inbox)
        self._inbox.clear()
        while True:
            if self._skip:
                skipped = min(self._skip, len(data))
                data, self._skip = data[skipped:], self._skip - skipped
            if data:
                self._conn.receive_data(data)
                if any(isinstance(event, CloseConnection) for event in self._conn.events()):
                    return
            data = bytes(await self._stream.receive_some(RECEIVE_BYTES))
            if not data:
                return


class QuartSocket:
    """A websocket that hypercorn upgraded (Quart's ``websocket``), seen as a ``Socket``."""

    def __init__(self, ws: Any):
        self._ws = ws

    async def receive(self) -> str | bytes:
        data: str | bytes = await self._ws.receive()
        return data

    def send_now(self, *frames: str) -> int:
        return NOT_SENT

    async def send_frames(self, frames: list[str]) -> None:
        for frame in frames:
            await self._ws.send(frame)

    async def close(self, code: int) -> None:
        await self._ws.close(code)
