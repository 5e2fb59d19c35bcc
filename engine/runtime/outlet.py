"""How actors reach clients: a socket they write to, and the agents they tell of events.

Actors never wait on a client: ``deliver`` queues a frame on a Session's bounded outbox (or
writes it at once when nothing waits before it) and returns. A Session whose outbox overflows
closes its socket (1013) and the client resumes from its last seq.
"""

from __future__ import annotations

from typing import Protocol

from frontdesk.engine.runtime.registry import Lookup


class Outlet(Protocol):
    """A websocket Session as the actors see it."""

    def deliver(self, frame: str) -> None: ...

    def deliver_together(self, *frames: str) -> None:
        """Several frames in one socket write (a message's ``ack`` and the sender's own copy)."""

    def overflow(self) -> None:
        """Close the socket for the client to resume: events for it were lost."""


# A message's ack for its sender: the sender's socket and the ack frame, written with the echo.
Ack = tuple[Outlet, str]


class AgentInbox(Protocol):
    """An agent's actor as the Router and the Conversations reach it."""

    def deliver(self, frame: str, conversation_id: str | None = None, ack: Ack | None = None) -> None: ...


def deliver_to_agent(agents: Lookup[AgentInbox], agent_id: str, frame: str, conversation_id: str | None = None,
                     ack: Ack | None = None) -> None:
    """Hand an encoded event to every socket of the agent (dropped if it is not signed in); with
    ``ack``, the agent's own message, acked on that socket in the same write."""
    actor = agents.get(agent_id)
    if actor is not None:
        actor.deliver(frame, conversation_id, ack)
    elif ack is not None:
        ack[0].deliver(ack[1])
