"""Keep-alive HTTP connections for the generator's POSTs, each its own one-connection httpx client.

One shared ``httpx.AsyncClient`` re-examines every queued request against every pooled
connection whenever a connection frees up (httpcore's ``_assign_requests_to_connections``): with
64 connections and a burst of chats, that alone took the generator's whole core at ~70 chats/s
(py-spy, benchmarks/README.md). Here a request first waits for a free client of its own (a trio
channel, O(1)), so each client's pool only ever sees one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType

import httpx
import trio


class HttpLanes:
    def __init__(self, base_url: str, timeout_s: float, connections: int):
        self._base_url, self._timeout_s, self._n = base_url, timeout_s, connections
        self._send, self._free = trio.open_memory_channel[httpx.AsyncClient](connections)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> HttpLanes:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        for _ in range(self._n):
            client = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout_s, limits=one)
            self._send.send_nowait(await self._stack.enter_async_context(client))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stack.aclose()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client nobody else uses until the block ends (waits for one when all are busy)."""
        client = await self._free.receive()
        try:
            yield client
        finally:
            self._send.send_nowait(client)
