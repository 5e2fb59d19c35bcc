"""The supervisors' sockets that watch one conversation without taking part (PROTOCOL.md §8).

A monitor belongs to the socket that asked, not to the supervisor: its events go straight to
that Session (never waiting, like a customer's), and it ends with ``unmonitor``, when the socket
closes, when the supervisor becomes a participant (then their agent actor brings every event to
all of their sockets), or with the conversation's actor. Monitors see what agents see, private
messages included; the customer and the agents are not told that anyone watches.
"""

from __future__ import annotations

from frontdesk.engine.conversations.model import Sender
from frontdesk.engine.runtime.outlet import Outlet


class Monitors:
    def __init__(self) -> None:
        self._by_session: dict[Outlet, Sender] = {}

    def __bool__(self) -> bool:
        return bool(self._by_session)

    def __contains__(self, session: object) -> bool:
        return session in self._by_session

    def add(self, session: Outlet, supervisor: Sender) -> None:
        self._by_session[session] = supervisor

    def remove(self, session: Outlet) -> Sender | None:
        return self._by_session.pop(session, None)

    def drop(self, supervisor_id: str) -> None:
        """Every socket of a supervisor who now takes part in the conversation."""
        for session in [s for s, sup in self._by_session.items() if sup.id == supervisor_id]:
            del self._by_session[session]

    def watching(self, supervisor_id: str | None) -> bool:
        return any(sup.id == supervisor_id for sup in self._by_session.values())

    def deliver(self, frame: str, ack: tuple[Outlet, str] | None = None, own: str | None = None) -> bool:
        """``frame`` to every watching socket; with ``ack`` = (socket, ack frame), that socket (the
        sender of a whisper) gets its ack and ``own`` copy in one write. True when the ack went out."""
        acked = False
        for session in self._by_session:
            if ack is not None and session is ack[0]:
                session.deliver_together(ack[1], own or frame)
                acked = True
            else:
                session.deliver(frame)
        return acked

    def clear(self) -> None:
        self._by_session.clear()
