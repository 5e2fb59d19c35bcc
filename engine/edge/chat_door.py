"""The listener's lean HTTP/1.1 path for ``POST /api/chats``: h11, no ASGI layer.

New chats arrive in bursts, and the ASGI layers (hypercorn's and Quart's) cost a burst more
CPU than everything else a new chat does. A connection whose request is ``POST /api/chats``
is therefore served here, one request after the other while the client
keeps it alive; the first request that is anything else hands the connection, with every byte
already read, over to hypercorn (``hand_over``), which serves the rest of it as usual.

What the client sees is what Quart's route sends: the same statuses, JSON bodies and private
headers (both call ``handle``, built on ``chat_start.start_chat``). HTTP itself is h11's: chunked
bodies, pipelining, ``Expect: 100-continue`` and malformed requests (400, then close).
A body over ``MAX_JSON_BODY_BYTES`` is refused with 413 as soon as that is known, and the
connection is closed (its body is not read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

import h11
import orjson
import trio

from frontdesk.core.errors import FrontdeskError
from frontdesk.engine.edge.http import PRIVATE_HEADERS

log = logging.getLogger(__name__)

CHAT_PREFIX = b"POST /api/chats"
KEEP_ALIVE_S = 5.0          # as hypercorn's keep_alive_timeout: an idle connection is closed after it
READ_TIMEOUT_S = 10.0       # a request head and body must arrive within this
MAX_HEAD_BYTES = 16384
RECEIVE_BYTES = 65536

Headers = list[tuple[bytes, bytes]]
# body, the socket's peer address, its X-Forwarded-For -> (status, JSON reply, extra headers: Retry-After)
ChatHandler = Callable[[bytes, str, str | None], Awaitable[tuple[int, bytes, Headers]]]
HandOver = Callable[[bytes], Awaitable[None]]                    # bytes already read -> serve the rest

_date_cache: tuple[int, bytes] = (0, b"")
_PRIVATE_HEADERS = [(name.lower().encode(), value.encode()) for name, value in PRIVATE_HEADERS.items()]


def http_date() -> bytes:
    """The ``Date`` header's value (RFC 9110 §5.6.7), made once a second rather than per response:
    formatting it shows in a profile of a burst of chats."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode())
    return _date_cache[1]


def could_be_chat(data: bytes) -> bool:
    """True while ``data`` may still grow into the start of a ``POST /api/chats`` request."""
    probe = CHAT_PREFIX + b" "
    return probe.startswith(data[:len(probe)]) or is_chat_request(data)


def is_chat_request(data: bytes) -> bool:
    """The request line is ``POST /api/chats`` (with or without a query)."""
    return data.startswith(CHAT_PREFIX) and data[len(CHAT_PREFIX):len(CHAT_PREFIX) + 1] in (b" ", b"?")


def peer_address(stream: trio.abc.Stream) -> str:
    """The client's IP address, as the throttles key it; "" when the stream has no socket."""
    try:
        return str(stream.socket.getpeername()[0])  # type: ignore[attr-defined]
    except (AttributeError, OSError, IndexError):
        return ""


class ChatDoor:
    """One connection's chat requests. ``serve`` returns when the connection should be closed."""

    def __init__(self, stream: trio.abc.Stream, handle: ChatHandler, hand_over: HandOver,
                 max_body_bytes: int):
        self._stream = stream
        self._handle = handle
        self._hand_over = hand_over
        self._max_body = max_body_bytes
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._peer = peer_address(stream)
        self._forwarded_for: str | None = None      # the current request's X-Forwarded-For

    async def serve(self, head: bytes) -> None:
        self._conn.receive_data(head)
        try:
            while True:
                pending: bytes | None = None
                with trio.move_on_after(KEEP_ALIVE_S):
                    pending = await self._peek()
                if not pending:
                    return                      # idle too long, or closed by the client
                if not is_chat_request(pending):
                    await self._hand_over(pending)
                    return
                with trio.fail_after(READ_TIMEOUT_S):
                    body = await self._request_body()
                if body is None:
                    return
                status, reply, headers = await self._handle(body, self._peer, self._forwarded_for)
                await self._respond(status, reply, headers)
                if self._conn.our_state is not h11.DONE or self._conn.their_state is not h11.DONE:
                    return
                self._conn.start_next_cycle()
        except h11.RemoteProtocolError as exc:
            await self._refuse(exc.error_status_hint, "bad_request", f"malformed HTTP request: {exc}")
        except trio.TooSlowError:
            await self._refuse(408, "timeout", "the request did not arrive in time")

    async def _receive(self) -> bool:
        data = bytes(await self._stream.receive_some(RECEIVE_BYTES))
        self._conn.receive_data(data)
        return bool(data)

    async def _peek(self) -> bytes | None:
        """The bytes read of the next request, enough to tell whether it is a chat; None at EOF."""
        while True:
            pending, closed = self._conn.trailing_data
            if len(pending) > len(CHAT_PREFIX) or not could_be_chat(pending) or closed:
                return pending if pending or not closed else None
            if not await self._receive():
                pending = self._conn.trailing_data[0]
                return pending or None

    async def _next_event(self) -> object:
        """The next h11 event (or PAUSED), reading as needed."""
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            await self._receive()

    async def _request_body(self) -> bytes | None:
        """The whole body of the request; None once it was refused (413) or the client left."""
        request = await self._next_event()
        if not isinstance(request, h11.Request):
            return None
        fields = dict(request.headers)
        forwarded = fields.get(b"x-forwarded-for")
        self._forwarded_for = forwarded.decode("latin-1") if forwarded is not None else None
        length = fields.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self._max_body:
            await self._refuse(413, "too_large", "the body is too large")
            return None
        if self._conn.they_are_waiting_for_100_continue:
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        body = bytearray()
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > self._max_body:
                    await self._refuse(413, "too_large", "the body is too large")
                    return None
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:                               # ConnectionClosed (or PAUSED: cannot happen mid-body)
                return None

    async def _respond(self, status: int, body: bytes, extra: Headers | None = None, *, close: bool = False) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"date", http_date()), *_PRIVATE_HEADERS, *(extra or ())]
        if close:
            headers.append((b"connection", b"close"))
        data = self._conn.send(h11.Response(status_code=status, headers=headers))
        data += self._conn.send(h11.Data(data=body)) + self._conn.send(h11.EndOfMessage())
        await self._stream.send_all(data)

    async def _send(self, event: h11.Event) -> None:
        data = self._conn.send(event)
        if data:
            await self._stream.send_all(data)

    async def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` and leave the connection to be closed, if a response can still be sent."""
        if self._conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        try:
            await self._respond(status, orjson.dumps(FrontdeskError(code, message).to_http()), close=True)
        except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
