"""The engine's open websockets, so that a stopping engine can close each one properly.

A Session adds itself when it starts and leaves when it ends. ``close_all`` closes every one with
1001 (going away: the client reconnects to the engine that comes next) after the frames already
waiting in its outbox, and refuses sessions that start after it was called.

It also counts the open websockets of each client address and of each token (``claim`` and
``release``), so that one address or one token cannot hold an unbounded share of the engine's
sockets (the throttles' ``sockets_per_*`` limits).
"""

from __future__ import annotations

from typing import Protocol

import trio


class Closable(Protocol):
    def close(self, code: int) -> None: ...

    def revoke(self) -> None:
        """Its token was revoked: tell the client and close (1008)."""


def token_key(token_hash: bytes) -> str:
    """The key under which the sessions of one token are held."""
    return f"token {bytes(token_hash).hex()}"


def staff_key(staff_id: str) -> str:
    """The key under which the sessions of one staff member are held, whichever token they used."""
    return f"staff {staff_id}"


class OpenSessions:
    def __init__(self) -> None:
        self._sessions: set[Closable] = set()
        self._closing = False
        self._none_left = trio.Event()
        self._holders: dict[str, set[Closable]] = {}    # an address or a token -> its open sessions

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

    def claim(self, key: str, limit: int, session: Closable) -> bool:
        """``session`` is one more socket of ``key`` (an address or a token), unless ``key`` has
        ``limit`` open already (0: no limit)."""
        holders = self._holders.setdefault(key, set())
        if limit and len(holders) >= limit:
            if not holders:
                del self._holders[key]
            return False
        holders.add(session)
        return True

    def release(self, key: str, session: Closable) -> None:
        holders = self._holders.get(key)
        if holders is not None:
            holders.discard(session)
            if not holders:
                del self._holders[key]

    def holding(self, key: str) -> list[Closable]:
        """The open sessions of ``key``."""
        return list(self._holders.get(key, ()))

    async def close_all(self, code: int) -> None:
        """Close every session with ``code``; return once each has sent its close frame (or given up)."""
        self._closing = True
        for session in list(self._sessions):
            session.close(code)
        if self._sessions:
            await self._none_left.wait()
