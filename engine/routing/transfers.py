"""Transfer decisions: the owner hands a conversation to a colleague, or to anyone of a queue.

Pure and synchronous like ``decisions.py``, whose agent load it shares: a pending transfer counts
towards its target's capacity (as a pending offer does), and once accepted the conversation is
the target's open conversation and no longer the previous owner's (PROTOCOL.md §8, §14).

- Only the owner transfers; one pending transfer or invitation per conversation
  (``invitation_pending`` otherwise).
- A named target must be another agent who is connected, ``available`` and below capacity: the
  owner learns at once that it cannot work, instead of waiting out a timeout.
- A queue transfer goes to the member routing would choose (never the owner). When nobody can
  take it, it waits at the head of that queue (``RoutingState.claim_head``) for at most the
  offer timeout, then ends ``expired``. A member who declines or lets it expire is skipped and
  the next free one is asked at once; when nobody is left the owner hears ``declined`` or
  ``expired``. A named transfer ends with its target's answer.
- Accepting is ``RoutingState.change_owner``: the ownership decision a reassignment shares.
- A transfer of a conversation that ends, whose owner goes offline, or that a supervisor takes
  over or reassigns, is cancelled (stored and reported as ``expired``; the supervisor's case with
  the reason ``owner_changed``).
- A restart or a rebuild of the Router keeps a pending transfer (``restore``): asked of the same
  agent, or waiting at the head of its queue again, never asking an agent asked before.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from frontdesk.core.errors import EngineError
from frontdesk.engine.routing.decisions import AVAILABLE, Effect, RoutingState

# a cancelled transfer did not happen: stored and reported as expired
_STORED_STATUS = {"cancelled": "expired"}


@dataclass(frozen=True)
class TransferOffered:
    """The transfer is now offered to ``target_id``; ``first``: the transfer is new (not yet stored)."""

    transfer_id: str
    conversation_id: str
    from_id: str
    target_id: str
    agent_id: str | None     # the named target, as asked (None for a queue)
    queue: str | None
    note: str | None
    first: bool


@dataclass(frozen=True)
class TransferWaiting:
    """Nobody of the queue could take the new transfer: it waits at the queue's head."""

    transfer_id: str
    conversation_id: str
    from_id: str
    queue: str
    note: str | None


@dataclass(frozen=True)
class TransferClosed:
    """A target's turn ended, or the waiting at the head did. ``final``: the whole transfer is
    over (the owner is told ``status``, stored as ``stored_status``)."""

    transfer_id: str
    conversation_id: str
    from_id: str
    target_id: str | None
    status: str          # accepted | declined | expired | cancelled
    final: bool
    note: str | None = None
    reason: str | None = None     # why a cancelled transfer ended, when the owner is told more than ``expired``

    @property
    def stored_status(self) -> str:
        return _STORED_STATUS.get(self.status, self.status)


TransferEffect = TransferOffered | TransferWaiting | TransferClosed | Effect


@dataclass(eq=False)
class Transfer:
    id: str
    conversation_id: str
    from_id: str
    agent_id: str | None
    queue: str | None
    note: str | None
    target_id: str | None = None       # asked now; None while it waits at the queue's head
    waiting: bool = False
    excluded: set[str] = field(default_factory=set)


class TransferDesk:
    def __init__(self, routing: RoutingState):
        self._routing = routing
        self.by_id: dict[str, Transfer] = {}
        self.by_conversation: dict[str, Transfer] = {}

    def request(self, conversation_id: str, from_id: str, *, agent_id: str | None, queue: str | None,
                note: str | None, now: float, busy: Callable[[str], bool] = lambda _: False,
                transfer_id: str | None = None) -> list[TransferEffect]:
        """Raises EngineError: not_found (not the caller's conversation, unknown agent or queue),
        forbidden (the caller is invited, not the owner), invitation_pending (``busy`` or a transfer
        already pending), invalid_value (the caller itself, or a target that is not available or
        has no room)."""
        rs = self._routing
        if from_id not in rs.participants(conversation_id):
            raise EngineError("not_found", "no such conversation", field="conversation_id")
        if rs.owner_of[conversation_id][0] != from_id:
            raise EngineError("forbidden", "only the owner transfers a conversation", field="conversation_id")
        if conversation_id in self.by_conversation or busy(conversation_id):
            raise EngineError("invitation_pending", "this conversation already has a pending transfer or invitation")
        t = Transfer(transfer_id or str(uuid.uuid4()), conversation_id, from_id, agent_id, queue, note,
                     excluded={from_id})
        if agent_id is not None:
            agent = rs.agents.get(agent_id)
            if agent is None:
                raise EngineError("not_found", "no such agent", field="agent_id")
            if agent_id == from_id:
                raise EngineError("invalid_value", "a conversation cannot be transferred to its owner",
                                  field="agent_id")
            if not agent.connected or agent.presence != AVAILABLE:
                raise EngineError("invalid_value", "that agent is not available", field="agent_id")
            if agent.load >= agent.capacity:
                raise EngineError("invalid_value", "that agent has no room for another conversation",
                                  field="agent_id")
            self._keep(t)
            return self._offer_to(t, agent_id, now, first=True)
        assert queue is not None
        if queue not in rs.queues:
            raise EngineError("not_found", f"no queue {queue!r}", field="queue")
        self._keep(t)
        best = rs.best_free_member(queue, t.excluded)
        if best is not None:
            return self._offer_to(t, best, now, first=True)
        t.waiting = True
        rs.claim_head(queue, t.id, t.excluded)
        return [TransferWaiting(t.id, conversation_id, from_id, queue, note)]

    def restore(self, transfer_id: str, conversation_id: str, from_id: str, *, agent_id: str | None,
                queue: str | None, note: str | None, target_id: str | None, asked: Iterable[str],
                now: float) -> list[TransferEffect] | None:
        """A transfer pending in the database is pending again (at start, after a rebuild): asked of
        ``target_id`` (its room reserved), or (None) waiting at the head of ``queue``. Returns the
        effects of the reservation, or None when it cannot be pending any more (its owner does not own
        the conversation now, the conversation has a pending transfer already, or the agent or queue
        it waits for is gone): the caller ends it."""
        rs = self._routing
        owner = rs.owner_of.get(conversation_id)
        if owner is None or owner[0] != from_id or conversation_id in self.by_conversation:
            return None
        if target_id is not None and target_id not in rs.agents:
            return None
        if target_id is None and (queue is None or queue not in rs.queues):
            return None
        t = Transfer(transfer_id, conversation_id, from_id, agent_id, queue, note, excluded={from_id, *asked})
        self._keep(t)
        if target_id is None:
            assert queue is not None
            t.waiting = True
            rs.claim_head(queue, t.id, t.excluded)
            return []
        t.target_id = target_id
        t.excluded.add(target_id)
        return list(rs.change_load(target_id, now, transfers=+1))

    def answer(self, agent_id: str, transfer_id: str, accept: bool, now: float) -> list[TransferEffect]:
        """Raises EngineError(offer_expired) for a transfer that is no longer pending or was never
        offered to ``agent_id`` (a client cannot tell the two apart)."""
        t = self.by_id.get(transfer_id)
        if t is None or t.target_id != agent_id:
            raise EngineError("offer_expired", "this transfer is no longer pending", ref=transfer_id)
        if not accept:
            return self._next_or_close(t, "declined", now)
        # the closing comes first: the ownership write carries it (one write, as for an accepted offer)
        effects: list[TransferEffect] = [TransferClosed(t.id, t.conversation_id, t.from_id, agent_id, "accepted",
                                                        True, t.note)]
        self._forget(t)
        t.target_id = None
        # owner first, then the reservation dropped: the load never dips, so no offer slips in between
        effects += self._routing.change_owner(t.conversation_id, agent_id, now)
        return effects + self._routing.change_load(agent_id, now, transfers=-1)

    def expire(self, transfer_id: str, target_id: str | None, now: float) -> list[TransferEffect]:
        """The target's time ran out, or (``target_id`` None) the waiting at the head did; a stale
        timer changes nothing."""
        t = self.by_id.get(transfer_id)
        if t is None or t.target_id != target_id:
            return []
        if target_id is None:
            if not t.waiting:
                return []
            return self._close(t, "expired", now)
        return self._next_or_close(t, "expired", now)

    def claimed(self, transfer_id: str, agent_id: str, now: float) -> list[TransferEffect]:
        """A free member took the place at the head (``ClaimServed``, its room already reserved)."""
        t = self.by_id.get(transfer_id)
        if t is None:     # cannot happen (the claim goes with its transfer); the reservation is undone
            return list(self._routing.change_load(agent_id, now, transfers=-1))
        t.waiting = False
        t.target_id = agent_id
        t.excluded.add(agent_id)
        return [TransferOffered(t.id, t.conversation_id, t.from_id, agent_id, t.agent_id, t.queue, t.note, False)]

    def cancel(self, conversation_id: str, now: float, reason: str | None = None) -> list[TransferEffect]:
        """The conversation ended or changed hands otherwise (``reason`` ``owner_changed``): its
        pending transfer is over."""
        t = self.by_conversation.get(conversation_id)
        return [] if t is None else self._close(t, "cancelled", now, reason)

    def agent_offline(self, agent_id: str, now: float) -> list[TransferEffect]:
        """Transfers to an agent that went offline move on; its own transfers are cancelled (its
        conversations are about to wait again)."""
        effects: list[TransferEffect] = []
        for t in list(self.by_id.values()):
            if t.target_id == agent_id:
                effects += self._next_or_close(t, "expired", now)
            elif t.from_id == agent_id and t.id in self.by_id:
                effects += self._close(t, "cancelled", now)
        return effects

    def pending_for(self, agent_id: str) -> list[Transfer]:
        return [t for t in self.by_id.values() if t.target_id == agent_id]

    def sent_by(self, agent_id: str) -> list[Transfer]:
        """The pending transfers ``agent_id`` asked for, oldest first."""
        return [t for t in self.by_id.values() if t.from_id == agent_id]

    # ---- internals -----------------------------------------------------------------------

    def _keep(self, t: Transfer) -> None:
        self.by_id[t.id] = t
        self.by_conversation[t.conversation_id] = t

    def _forget(self, t: Transfer) -> None:
        del self.by_id[t.id]
        del self.by_conversation[t.conversation_id]

    def _offer_to(self, t: Transfer, target_id: str, now: float, *, first: bool) -> list[TransferEffect]:
        t.target_id = target_id
        t.excluded.add(target_id)
        effects: list[TransferEffect] = [TransferOffered(t.id, t.conversation_id, t.from_id, target_id, t.agent_id,
                                                         t.queue, t.note, first)]
        return effects + self._routing.change_load(target_id, now, transfers=+1)

    def _next_or_close(self, t: Transfer, status: str, now: float) -> list[TransferEffect]:
        following = self._routing.best_free_member(t.queue, t.excluded) if t.queue else None
        if following is None:
            return self._close(t, status, now)
        effects = self._end_turn(t, status, final=False, now=now)
        return effects + self._offer_to(t, following, now, first=False)

    def _close(self, t: Transfer, status: str, now: float, reason: str | None = None) -> list[TransferEffect]:
        if t.waiting:
            assert t.queue is not None
            self._routing.drop_claim(t.queue, t.id)
            t.waiting = False
        return self._end_turn(t, status, final=True, now=now, reason=reason)

    def _end_turn(self, t: Transfer, status: str, *, final: bool, now: float,
                  reason: str | None = None) -> list[TransferEffect]:
        target = t.target_id
        t.target_id = None
        effects: list[TransferEffect] = [TransferClosed(t.id, t.conversation_id, t.from_id, target, status, final,
                                                        t.note, reason)]
        if final:
            self._forget(t)
        if target is not None:
            effects += self._routing.change_load(target, now, transfers=-1)
        return effects
