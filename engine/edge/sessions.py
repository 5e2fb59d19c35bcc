"""The engine's open websockets, so that a stopping engine can close each one properly.

A Session adds itself when it starts and leaves when it ends. ``close_all`` closes every one with
1001 (going away: the client reconnects to the engine that comes next) after the frames already
waiting in its outbox, and refuses sessions that start after it was called.

It also counts the open websockets of each client address and of each token (``claim`` and
``release``), so that one address or one token cannot hold an unbounded share of the engine's
sockets (the throttles' ``sockets_per_*`` limits).
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

import trio


class Closable(Protocol):
    def close(self, code: int) -> None: ...


class OpenSessions:
    def __init__(self) -> None:
        self._sessions: set[Closable] = set()
        self._closing = False
        self._none_left = trio.Event()
        self._claimed: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, session: Closable) -> bool:
        """False once the engine is stopping: the session closes at once."""
        if self._closing:
            return False
        self._sessions.add(session)
        return True

    def discard(self, session: Closable) -> None:
        self._sessions.discard(session)
        if self._closing and not self._sessions:
            self._none_left.set()

    def claim(self, key: str, limit: int) -> bool:
        """One more socket of ``key`` (an address or a token), unless it has ``limit`` open (0: no limit)."""
        if limit and self._claimed[key] >= limit:
            return False
        self._claimed[key] += 1
        return True

    def release(self, key: str) -> None:
        self._claimed[key] -= 1
        if self._claimed[key] <= 0:
            del self._claimed[key]

    async def close_all(self, code: int) -> None:
        """Close every session with ``code``; return once each has sent its close frame (or given up)."""
        self._closing = True
        for session in list(self._sessions):
            session.close(code)
        if self._sessions:
            await self._none_left.wait()
