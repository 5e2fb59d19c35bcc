"""The engine's open websockets, so that a stopping engine can close each one properly.

A Session adds itself when it starts and leaves when it ends. ``close_all`` closes every one with
1001 (going away: the client reconnects to the engine that comes next) after the frames already
waiting in its outbox, and refuses sessions that start after it was called.
"""

from __future__ import annotations

from typing import Protocol

import trio


class Closable(Protocol):
    def close(self, code: int) -> None: ...


class OpenSessions:
    def __init__(self) -> None:
        self._sessions: set[Closable] = set()
        self._closing = False
        self._none_left = trio.Event()

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

    async def close_all(self, code: int) -> None:
        """Close every session with ``code``; return once each has sent its close frame (or given up)."""
        self._closing = True
        for session in list(self._sessions):
            session.close(code)
        if self._sessions:
            await self._none_left.wait()
