"""Invitation decisions: an agent asks a colleague, or anyone from a queue, into a conversation.

Pure and synchronous like ``routing.py``, whose agent load it shares: a pending invitation
counts towards the invitee's capacity, a joined conversation too (PROTOCOL.md §5.4, §5.7).

- One pending invitation or transfer per conversation (``invitation_pending`` otherwise).
- A named invitee must be online (connected, not offline), have room and not be in the
  conversation already.
- A queue invitation is offered like a conversation: to the eligible member routing would
  choose, never one already in the conversation. A member who declines or lets it expire is
  skipped and the next one is asked at once; when nobody is left, the inviter hears
  ``declined`` or ``expired``. A named invitation ends with the invitee's answer.
- An invitation to a conversation that ends is cancelled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from frontdesk.core.errors import EngineError
from frontdesk.engine.routing.decisions import OFFLINE, Effect, RoutingState


@dataclass(frozen=True)
class InvitationOffered:
    invitation_id: str
    conversation_id: str
    inviter_id: str
    invitee_id: str


@dataclass(frozen=True)
class InvitationClosed:
    """An invitee's turn ended. ``final``: the whole invitation is over (the inviter is told)."""

    invitation_id: str
    conversation_id: str
    inviter_id: str
    invitee_id: str | None
    status: str          # accepted | declined | expired | cancelled
    final: bool


@dataclass(frozen=True)
class Joined:
    conversation_id: str
    agent_id: str


InvitationEffect = InvitationOffered | InvitationClosed | Joined | Effect


@dataclass(eq=False)
class Invitation:
    id: str
    conversation_id: str
    inviter_id: str
    queue: str | None
    invitee_id: str | None = None
    excluded: set[str] = field(default_factory=set)


class InvitationDesk:
    def __init__(self, routing: RoutingState):
        self._routing = routing
        self.by_id: dict[str, Invitation] = {}
        self.by_conversation: dict[str, Invitation] = {}

    def invite(self, conversation_id: str, inviter_id: str, *, agent_id: str | None, queue: str | None,
               now: float, busy: bool = False) -> list[InvitationEffect]:
        """Raises EngineError: not_found (not the inviter's conversation, unknown agent or queue),
        invitation_pending (one pending already, or ``busy``: a transfer is), invalid_value (invitee
        offline, full or already in it)."""
        rs = self._routing
        participants = rs.participants(conversation_id)
        if inviter_id not in participants:
            raise EngineError("not_found", "no such conversation", field="conversation_id")
        if conversation_id in self.by_conversation or busy:
            raise EngineError("invitation_pending", "this conversation already has a pending invitation or transfer")
        inv = Invitation(str(uuid.uuid4()), conversation_id, inviter_id, queue, excluded=set(participants))
        if agent_id is not None:
            agent = rs.agents.get(agent_id)
            if agent is None:
                raise EngineError("not_found", "no such agent", field="agent_id")
            if agent_id in participants:
                raise EngineError("invalid_value", "that agent is in the conversation already", field="agent_id")
            if not agent.connected or agent.presence == OFFLINE:
                raise EngineError("invalid_value", "that agent is not online", field="agent_id")
            if agent.load >= agent.capacity:
                raise EngineError("invalid_value", "that agent has no room for another conversation",
                                  field="agent_id")
            invitee = agent_id
        else:
            assert queue is not None
            if queue not in rs.queues:
                raise EngineError("not_found", f"no queue {queue!r}", field="queue")
            best = rs.best_free_member(queue, inv.excluded)
            if best is None:
                raise EngineError("invalid_value", "nobody in that queue can join now", field="queue")
            invitee = best
        self.by_id[inv.id] = inv
        self.by_conversation[conversation_id] = inv
        return self._offer_to(inv, invitee, now)

    def answer(self, agent_id: str, invitation_id: str, accept: bool, now: float) -> list[InvitationEffect]:
        inv = self.by_id.get(invitation_id)
        if inv is None or inv.invitee_id != agent_id:
            raise EngineError("offer_expired", "this invitation is no longer pending", ref=invitation_id)
        if accept:
            # join first, then drop the invitation: the load never dips in between, so no
            # offer can slip into the room the invitation was holding
            effects: list[InvitationEffect] = list(self._routing.change_load(agent_id, now,
                                                                             join=inv.conversation_id))
            effects += self._close_turn(inv, "accepted", final=True, now=now)
            return [*effects, Joined(inv.conversation_id, agent_id)]
        return self._next_or_close(inv, "declined", now)

    def expire(self, invitation_id: str, invitee_id: str, now: float) -> list[InvitationEffect]:
        """The invitee's time ran out (a stale timer changes nothing)."""
        inv = self.by_id.get(invitation_id)
        if inv is None or inv.invitee_id != invitee_id:
            return []
        return self._next_or_close(inv, "expired", now)

    def conversation_closed(self, conversation_id: str, now: float) -> list[InvitationEffect]:
        inv = self.by_conversation.get(conversation_id)
        if inv is None:
            return []
        return self._close_turn(inv, "cancelled", final=True, now=now)

    def agent_offline(self, agent_id: str, now: float) -> list[InvitationEffect]:
        """Invitations to an agent that went offline move on; its own invitations are cancelled."""
        effects: list[InvitationEffect] = []
        for inv in list(self.by_id.values()):
            if inv.invitee_id == agent_id:
                effects += self._next_or_close(inv, "expired", now)
            elif inv.inviter_id == agent_id and inv.id in self.by_id:
                effects += self._close_turn(inv, "cancelled", final=True, now=now)
        return effects

    # ---- internals -----------------------------------------------------------------------

    def _offer_to(self, inv: Invitation, invitee_id: str, now: float) -> list[InvitationEffect]:
        inv.invitee_id = invitee_id
        inv.excluded.add(invitee_id)
        effects: list[InvitationEffect] = [InvitationOffered(inv.id, inv.conversation_id, inv.inviter_id, invitee_id)]
        return effects + self._routing.change_load(invitee_id, now, invitations=+1)

    def _next_or_close(self, inv: Invitation, status: str, now: float) -> list[InvitationEffect]:
        following = self._routing.best_free_member(inv.queue, inv.excluded) if inv.queue else None
        effects = self._close_turn(inv, status, final=following is None, now=now)
        if following is not None:
            effects += self._offer_to(inv, following, now)
        return effects

    def _close_turn(self, inv: Invitation, status: str, *, final: bool, now: float) -> list[InvitationEffect]:
        invitee = inv.invitee_id
        inv.invitee_id = None
        effects: list[InvitationEffect] = [
            InvitationClosed(inv.id, inv.conversation_id, inv.inviter_id, invitee, status, final)]
        if final:
            del self.by_id[inv.id]
            del self.by_conversation[inv.conversation_id]
        if invitee is not None:
            effects += self._routing.change_load(invitee, now, invitations=-1)
        return effects
