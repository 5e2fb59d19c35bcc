"""Keep-alive HTTP connections for the generator's POSTs, each its own one-connection httpx client.

One shared ``httpx.AsyncClient`` re-examines every queued request against every pooled
connection whenever a connection frees up (httpcore's ``_assign_requests_to_connections``): with
64 connections and a burst of chats, that alone took the generator's whole core at ~70 chats/s
(py-spy, benchmarks/README.md). Here a request first waits for a free client of its own (O(1)),
so each client's pool only ever sees one request.

Keep-alive: the engine closes a connection idle for 5 s. A client that sent on it at that moment
got "server disconnected" (httpx's own expiry is 5 s too). So the generator's connections expire
after ``KEEPALIVE_EXPIRY_S``, and the lanes hand out the client freed last (a stack): the
connections in use stay warm, the others expire on the client's side.

Cookies: the engine sets none, but httpx files every response's headers into its cookie jar
(2.5 % of the generator's time in a burst of chats); the lanes' clients get a jar that keeps
nothing (``NoCookies``, through httpx's public ``cookies=`` argument): 85 → 60 µs per response
(``timeit``; the rest is httpx wrapping the response for the jar).

TLS: every ``httpx.AsyncClient`` builds its own SSL context, loading the system's CA bundle
(74 ms of CPU here), even for plain ``http://``; 64 lanes took 4.7 s of the generator's CPU
before every run. The lanes share one context (0.25 ms per client, ``timeit``).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any

import httpx
import trio

KEEPALIVE_EXPIRY_S = 4.0    # below the engine's 5-s keep-alive: the client closes first


class NoCookies(CookieJar):
    """A cookie jar that neither stores nor sends a cookie."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


def limits(connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                        keepalive_expiry=KEEPALIVE_EXPIRY_S)


class HttpLanes:
    def __init__(self, base_url: str, timeout_s: float, connections: int):
        self._base_url, self._timeout_s, self._n = base_url, timeout_s, connections
        self._idle: list[httpx.AsyncClient] = []
        self._available = trio.Semaphore(connections)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> HttpLanes:
        tls = ssl.create_default_context()      # one for all lanes (the module's docstring)
        for _ in range(self._n):
            client = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout_s, limits=limits(1),
                                       cookies=NoCookies(), verify=tls)
            self._idle.append(await self._stack.enter_async_context(client))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stack.aclose()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client nobody else uses until the block ends (waits for one when all are busy)."""
        async with self._available:
            client = self._idle.pop()
            try:
                yield client
            finally:
                self._idle.append(client)
