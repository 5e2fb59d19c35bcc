"""Keep-alive HTTP connections for the generator's POSTs, one request at a time on each.

The hot request of the load generator is ``POST /api/chats``: one per simulated customer, up to
1,000 a second in the ``burst``. httpx wraps the h11 that does the HTTP in client, auth, redirect,
cookie, pool and connection layers whose CPU per request makes the generator, not the engine,
the limit of a burst.

Here each lane is one keep-alive connection spoken with h11 directly (the same HTTP/1.1 library
httpx uses underneath, and the engine's chat door): a request waits for a free lane (O(1)), is
written in one ``send_all`` and its response read to the end. Everything else the generator
says over HTTP (sign-in, metrics) still goes through httpx.

Keep-alive: the engine closes a connection idle for 5 s. A request sent on it at that moment
would find it closed, so a lane idle for ``KEEPALIVE_EXPIRY_S`` reconnects first, and the lanes
hand out the one freed last (a stack): the connections in use stay warm, the others expire.
A connection the server ends (``Connection: close``) or that fails is closed and made again
for the next request; the failed request is reported, not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import h11
import orjson
import trio

KEEPALIVE_EXPIRY_S = 4.0    # below the engine's 5-s keep-alive: the client closes first
RECEIVE_BYTES = 65536


class LaneError(Exception):
    """A request that got no complete response; ``kind`` names why, with httpx's exception class names."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


class Lane:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, host: str, port: int, headers: list[tuple[bytes, bytes]]):
        self._host, self._port, self._headers = host, port, headers
        self._stream: trio.SocketStream | None = None
        self._http = h11.Connection(h11.CLIENT)
        self._idle_since = 0.0

    async def request(self, method: bytes, target: bytes, body: bytes, timeout_s: float) -> Response:
        try:
            with trio.fail_after(timeout_s):
                return await self._exchange(method, target, body)
        except trio.TooSlowError:
            await self.close()
            raise LaneError("Timeout", f"no response within {timeout_s:g} s") from None
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            kind = "ConnectError" if self._stream is None else "NetworkError"
            await self.close()
            raise LaneError(kind, str(exc)) from None
        except h11.ProtocolError as exc:
            await self.close()
            raise LaneError(type(exc).__name__, str(exc)) from None
        except BaseException:                   # cancelled mid-exchange: the connection's state is unknown
            with trio.CancelScope(shield=True):
                await self.close()
            raise

    async def _exchange(self, method: bytes, target: bytes, body: bytes) -> Response:
        if self._stream is not None and trio.current_time() - self._idle_since > KEEPALIVE_EXPIRY_S:
            await self.close()
        if self._stream is None:
            self._stream = await trio.open_tcp_stream(self._host, self._port)
        http = self._http
        head = h11.Request(method=method, target=target,
                           headers=[*self._headers, (b"content-length", str(len(body)).encode())])
        await self._stream.send_all(http.send(head) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage()))
        status, chunks = 0, []
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(await self._stream.receive_some(RECEIVE_BYTES))   # b"" = EOF
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError("server disconnected mid-response")
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            self._idle_since = trio.current_time()
        else:                                   # Connection: close, or HTTP/1.0
            await self.close()
        return Response(status, b"".join(chunks))

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        self._http = h11.Connection(h11.CLIENT)
        if stream is not None:
            await stream.aclose()


class HttpLanes:
    """``connections`` lanes to ``base_url``; ``post`` waits for a free one."""

    def __init__(self, base_url: str, timeout_s: float, connections: int):
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"HttpLanes speaks plain http:// only, not {base_url!r}")
        host, port = url.hostname, url.port or 80
        headers = [(b"host", url.netloc.encode()), (b"content-type", b"application/json"),
                   (b"accept", b"application/json"), (b"user-agent", b"frontdesk-load")]
        self._prefix = url.path.rstrip("/").encode()
        self._timeout_s = timeout_s
        self._idle = [Lane(host, port, headers) for _ in range(connections)]
        self._available = trio.Semaphore(connections)

    async def __aenter__(self) -> HttpLanes:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        with trio.CancelScope(shield=True):
            for lane in self._idle:
                await lane.close()

    async def post(self, path: str, body: bytes) -> Response:
        """``POST path`` with a JSON ``body`` on a lane nobody else uses meanwhile (the wait counts)."""
        async with self._available:
            lane = self._idle.pop()
            try:
                return await lane.request(b"POST", self._prefix + path.encode(), body, self._timeout_s)
            finally:
                self._idle.append(lane)
