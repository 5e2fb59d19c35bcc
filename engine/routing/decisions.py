"""Routing decisions: who is offered which waiting chat. Pure and synchronous, no I/O.

The Router actor (``router.py``) owns one ``RoutingState`` and feeds it every event;
each method changes the state and returns the effects the actor must carry out (store an
offer, tell an agent, start or cancel a timer, tell a conversation it was assigned). Keeping
the decisions here lets them be tested exhaustively without a server or a clock.

The rules are PROTOCOL.md §5.4–5.6:

- a conversation has at most one pending offer; an agent is never offered a conversation it
  rejected or let expire;
- an agent is eligible while connected, ``available``, a member of the queue and below
  capacity, counting open conversations + pending offers + pending invitations;
- the eligible agent with the fewest open conversations wins, ties broken by the longest time
  since that agent's last offer (then by id, so decisions are reproducible);
- queues are first come, first served, without head-of-line blocking: a chat no free agent
  may take does not stop the chats behind it;
- after ``missed_offers_away`` expired offers in a row an agent is set ``away``;
- a claim at the head of a queue (a transfer nobody could take at once) gets the queue's next
  free member before any waiting chat does;
- ``change_owner`` hands a conversation to another owner without an offer: the one decision
  behind a transfer's acceptance and a supervisor's take-over or reassignment.

Cost per event: each queue keeps its eligible agents in a sorted list keyed by
(open conversations, last offer time, id) and its waiting chats without an offer in a sorted
list keyed by queue position, so an event costs O(log n) plus the offers it makes (a chat the
best agents rejected before is the only case that scans further).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from frontdesk.core.errors import EngineError
from frontdesk.engine.routing.model import (
    AVAILABLE,
    AWAY,
    OFFLINE,
    Agent,
    Assigned,
    Claim,
    ClaimServed,
    Effect,
    LeftConversation,
    Offer,
    OfferClosed,
    OfferMade,
    OwnerChanged,
    PresenceChanged,
    Queue,
    Requeued,
    Waiting,
)

__all__ = [
    "AVAILABLE", "AWAY", "OFFLINE", "Agent", "Assigned", "Claim", "ClaimServed", "Effect", "LeftConversation",
    "Offer", "OfferClosed", "OfferMade", "OwnerChanged", "PresenceChanged", "Queue", "Requeued", "RoutingState",
    "Waiting",
]

# A queue with claims at its head is served before any queue whose first chat waited longest.
_CLAIMS_FIRST = -(2**63)

class RoutingState:
    """Every routing decision of one engine. Only the Router actor calls it."""

    def __init__(self, *, missed_offers_away: int, wall_clock: Callable[[], float] = time.time):
        self.missed_offers_away = missed_offers_away
        self._wall_clock = wall_clock  # queue keys follow wall time, so they keep order across restarts
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.waiting: dict[str, Waiting] = {}
        self.offers: dict[str, Offer] = {}
        self.owner_of: dict[str, tuple[str, str]] = {}  # open conversation -> (owning agent, queue)
        self.joined_by: dict[str, set[str]] = {}        # open conversation -> agents invited into it
        self.open_key: dict[str, int] = {}              # open conversation -> its queue key while it waited
        self.refused_by: dict[str, set[str]] = {}       # open conversation -> agents who refused it while it waited
        self._tail_key = 0   # queue keys: new chats get increasing positive keys,
        self._head_key = 0   # chats back at the head decreasing negative ones
        self.dirty_from: dict[str, int] = {}  # queue -> first place (0-based) changed since last asked
        self.claims: dict[str, list[Claim]] = {}  # queue -> what waits at its head (transfers), oldest first

    # ---- setup ---------------------------------------------------------------------------

    def add_queue(self, name: str) -> None:
        if name not in self.queues:     # not setdefault: a Queue (two sorted containers) per call
            self.queues[name] = Queue(name)

    def upsert_agent(self, agent_id: str, name: str, queues: frozenset[str], capacity: int) -> Agent:
        """Add an agent or update its queues and capacity (e.g. changed by a supervisor)."""
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = Agent(agent_id, name, queues, capacity)
        else:
            self._unindex(agent)
            if agent.online_counted:  # counted again, in its new queues, by _index below
                for q in agent.queues:
                    self.queues[q].online -= 1
                agent.online_counted = False
            for q in agent.queues - queues:
                if q in self.queues:
                    self.queues[q].members.discard(agent_id)
            agent.name, agent.queues, agent.capacity = name, queues, capacity
        for q in queues:
            self.add_queue(q)
            self.queues[q].members.add(agent_id)
        self._index(agent)
        return agent

    def update_agent(self, agent_id: str, name: str, queues: frozenset[str], capacity: int,
                     now: float) -> list[Effect]:
        """A supervisor changed the agent: new queues and capacity count at once, and the agent is
        offered what it now has room for. Its open chats and pending offers stay as they are."""
        agent = self.upsert_agent(agent_id, name, queues, capacity)
        return self._dispatch_agent(agent, now)

    def restore_open(self, conversation_id: str, queue: str, agent_id: str, queue_key: int = 0) -> None:
        """At start: an open conversation owned by ``agent_id`` (PROTOCOL.md §5.10)."""
        agent = self.agents[agent_id]
        self._unindex(agent)
        agent.open.add(conversation_id)
        self.owner_of[conversation_id] = (agent_id, queue)
        self.open_key[conversation_id] = queue_key
        self._index(agent)

    def restore_exclusions(self, conversation_id: str, agent_ids: set[str]) -> None:
        """At start: agents who rejected the conversation or let its offer expire before."""
        w = self.waiting.get(conversation_id)
        if w is not None:
            w.excluded |= agent_ids
        elif conversation_id in self.owner_of:
            self.refused_by.setdefault(conversation_id, set()).update(agent_ids)

    def next_queue_key(self) -> int:
        """A key after every chat waiting now (and after every key used before a restart)."""
        self._tail_key = max(self._tail_key + 1, int(self._wall_clock() * 1_000_000))
        return self._tail_key

    def _next_head_key(self) -> int:
        self._head_key = min(self._head_key - 1, -int(self._wall_clock() * 1_000_000))
        return self._head_key

    # ---- queries -------------------------------------------------------------------------

    def position(self, conversation_id: str) -> int | None:
        w = self.waiting.get(conversation_id)
        if w is None:
            return None
        return int(self.queues[w.queue].waiting.index(w.queue_key)) + 1

    def positions(self, queue: str, start: int = 0) -> list[tuple[str, int]]:
        """(conversation, position) of the chats waiting in ``queue``, from the ``start``-th place on."""
        return [(cid, start + i + 1) for i, cid in enumerate(self.queues[queue].waiting.values()[start:])]

    def _changed_from(self, queue: str, index: int) -> None:
        """A chat came or went at place ``index``: the positions from there on changed; those before did not."""
        self.dirty_from[queue] = min(index, self.dirty_from.get(queue, index))

    def agents_online(self, queue: str) -> int:
        """Members connected and not offline (away counts as online)."""
        q = self.queues.get(queue)
        if q is None:
            return 0
        return q.online  # kept by _count_online: O(1) per chat, not a scan of the members

    def pending_offers_of(self, agent_id: str) -> list[Offer]:
        return [self.offers[o] for o in sorted(self.agents[agent_id].offers)]

    # ---- events --------------------------------------------------------------------------

    def enqueue(self, conversation_id: str, queue: str, queue_key: int, now: float,
                prefer: str | None = None) -> list[Effect]:
        """A chat starts waiting (new, reopened, or back at start). Raises EngineError for an
        unknown queue. ``prefer``: the agent offered it first when available with room (a
        reopened conversation's last owner); else it waits in its arrival order."""
        if queue not in self.queues:
            raise EngineError("not_found", f"no queue {queue!r}", field="queue")
        if queue_key > 0:
            self._tail_key = max(self._tail_key, queue_key)
        else:
            self._head_key = min(self._head_key, queue_key)
        self._enqueue_only(conversation_id, queue, queue_key)
        agent = self.agents.get(prefer) if prefer is not None else None
        if agent is not None and agent.eligible and queue in agent.queues:
            return [self._make_offer(self.waiting[conversation_id], agent, now), *self._dispatch(queue, now)]
        return self._dispatch(queue, now)

    def _enqueue_only(self, conversation_id: str, queue: str, queue_key: int) -> None:
        w = Waiting(conversation_id, queue, queue_key)
        self.waiting[conversation_id] = w
        q = self.queues[queue]
        q.waiting[queue_key] = conversation_id
        q.unoffered.add(queue_key)
        self._changed_from(queue, q.waiting.index(queue_key))

    def agent_connected(self, agent_id: str, presence: str, now: float) -> list[Effect]:
        """The agent's first socket said hello; ``presence`` is the state it last chose."""
        agent = self.agents[agent_id]
        self._unindex(agent)
        agent.connected = True
        agent.presence = presence
        self._index(agent)
        return self._dispatch_agent(agent, now)

    def agent_disconnected(self, agent_id: str) -> list[Effect]:
        """The agent's last socket closed: it keeps its work (grace) but gets no new offers."""
        agent = self.agents[agent_id]
        self._unindex(agent)
        agent.connected = False
        self._index(agent)
        return []

    def agent_offline(self, agent_id: str, now: float) -> list[Effect]:
        """Grace is over: revoke its offers, requeue its conversations at the head."""
        agent = self.agents[agent_id]
        self._unindex(agent)
        agent.connected = False
        effects: list[Effect] = []
        touched: set[str] = set()
        for offer_id in sorted(agent.offers):
            touched.add(self.waiting[self.offers[offer_id].conversation_id].queue)
            effects += self._close_offer(offer_id, "revoked", "agent_unavailable", exclude=False)
        agent.missed_in_row = 0
        agent.presence = OFFLINE
        self._count_online(agent)
        # the chat that first came ends up first: requeue the latest first, each ahead of the last
        for cid in sorted(agent.open, key=lambda c: (self.open_key.get(c, 0), c), reverse=True):
            _, queue = self.owner_of.pop(cid)
            self.open_key.pop(cid, None)
            key = self._next_head_key()
            effects.append(Requeued(cid, agent_id, key))
            self._enqueue_only(cid, queue, key)
            # "never offered" outlives a requeue; colleagues still in the chat are not offered it either
            self.waiting[cid].excluded = self.refused_by.pop(cid, set()) | self.joined_by.get(cid, set())
            touched.add(queue)
        agent.open.clear()
        for cid in sorted(agent.joined):
            effects.append(LeftConversation(cid, agent_id))
            self.joined_by.get(cid, set()).discard(agent_id)
        agent.joined.clear()
        for q in sorted(touched):
            effects += self._dispatch(q, now)
        return effects

    def set_presence(self, agent_id: str, state: str, now: float, by: str = "agent") -> list[Effect]:
        agent = self.agents[agent_id]
        self._unindex(agent)
        agent.presence = state
        if state == AVAILABLE:
            agent.missed_in_row = 0
        self._index(agent)
        effects: list[Effect] = [PresenceChanged(agent_id, state, by)]
        return effects + self._dispatch_agent(agent, now)

    def accept(self, agent_id: str, offer_id: str, now: float) -> list[Effect]:
        """The agent takes the offer. Raises EngineError(offer_expired) for an offer that is no
        longer pending or was never this agent's (a client cannot tell the two apart)."""
        offer = self._own_offer(agent_id, offer_id)
        agent = self.agents[agent_id]
        w = self.waiting[offer.conversation_id]
        effects = self._close_offer(offer_id, "accepted", None, exclude=False)
        agent.missed_in_row = 0
        self._remove_waiting(w)
        if w.excluded:
            self.refused_by[w.id] = w.excluded
        self._unindex(agent)
        agent.open.add(w.id)
        self.owner_of[w.id] = (agent_id, w.queue)
        self.open_key[w.id] = w.queue_key
        self._index(agent)
        effects.append(Assigned(w.id, agent_id))
        return effects + self._dispatch(w.queue, now) + self._dispatch_agent(agent, now)

    def reject(self, agent_id: str, offer_id: str, reason: str | None, now: float) -> list[Effect]:
        offer = self._own_offer(agent_id, offer_id)
        self.agents[agent_id].missed_in_row = 0
        queue = self.waiting[offer.conversation_id].queue
        effects = self._close_offer(offer_id, "rejected", reason, exclude=True)
        return effects + self._dispatch(queue, now) + self._dispatch_agent(self.agents[agent_id], now)

    def expire(self, offer_id: str, now: float) -> list[Effect]:
        """The offer's timer ran out. A stale timer (offer already answered) changes nothing."""
        offer = self.offers.get(offer_id)
        if offer is None:
            return []
        agent = self.agents[offer.agent_id]
        queue = self.waiting[offer.conversation_id].queue
        effects = self._close_offer(offer_id, "expired", None, exclude=True)
        agent.missed_in_row += 1
        if agent.missed_in_row >= self.missed_offers_away and agent.presence == AVAILABLE:
            effects += self._auto_away(agent, now)
        return effects + self._dispatch(queue, now) + self._dispatch_agent(agent, now)

    def customer_left(self, conversation_id: str, now: float) -> list[Effect]:
        """A waiting chat ends before anyone accepted it: it leaves the queue, its offer is revoked."""
        w = self.waiting.get(conversation_id)
        if w is None:
            return self.conversation_ended(conversation_id, now)
        effects: list[Effect] = []
        agent_id = None
        if w.offer_id is not None:
            agent_id = self.offers[w.offer_id].agent_id
            effects += self._close_offer(w.offer_id, "revoked", "customer_left", exclude=False)
        self._remove_waiting(w)
        if agent_id is not None:
            effects += self._dispatch_agent(self.agents[agent_id], now)
        # a chat requeued after its owner went offline may still have invited agents in it
        for joined_id in sorted(self.joined_by.pop(conversation_id, set())):
            effects += self.change_load(joined_id, now, leave=conversation_id)
        return effects

    def conversation_ended(self, conversation_id: str, now: float) -> list[Effect]:
        """An assigned conversation ended: its owner and invited agents have room again."""
        owner = self.owner_of.pop(conversation_id, None)
        self.refused_by.pop(conversation_id, None)
        self.open_key.pop(conversation_id, None)
        effects: list[Effect] = []
        if owner is not None:
            effects += self.change_load(owner[0], now, drop_open=conversation_id)
        for agent_id in sorted(self.joined_by.pop(conversation_id, set())):
            effects += self.change_load(agent_id, now, leave=conversation_id)
        return effects

    def participants(self, conversation_id: str) -> set[str]:
        """Agents in an assigned conversation: the owner and those invited into it."""
        owner = self.owner_of.get(conversation_id)
        if owner is None:
            return set()
        return {owner[0]} | self.joined_by.get(conversation_id, set())

    def change_load(self, agent_id: str, now: float, *, invitations: int = 0, transfers: int = 0,
                    join: str | None = None, leave: str | None = None, drop_open: str | None = None) -> list[Effect]:
        """Change what counts towards an agent's capacity (invitations, transfers, joined or owned
        conversations); when that frees room, the agent's queues are served at once."""
        agent = self.agents[agent_id]
        self._unindex(agent)
        agent.invitations += invitations
        agent.transfers += transfers
        if join is not None:
            agent.joined.add(join)
            self.joined_by.setdefault(join, set()).add(agent_id)
        if leave is not None:
            agent.joined.discard(leave)
            self.joined_by.get(leave, set()).discard(agent_id)
        if drop_open is not None:
            agent.open.discard(drop_open)
        self._index(agent)
        return self._dispatch_agent(agent, now)

    def best_free_member(self, queue: str, exclude: set[str]) -> str | None:
        """The eligible member of ``queue`` that routing would choose, skipping ``exclude``."""
        q = self.queues.get(queue)
        if q is None:
            return None
        return next((k[2] for k in q.eligible if k[2] not in exclude), None)

    def change_owner(self, conversation_id: str, agent_id: str, now: float, *,
                     previous_stays: bool = False) -> list[Effect]:
        """The one decision behind every new owner asked for nobody's offer: a transfer accepted, a
        supervisor's take-over (``previous_stays``: the previous owner stays in as invited) or
        reassignment. A waiting chat leaves its queue as if accepted (its pending offer is revoked);
        an assigned one counts as ``agent_id``'s open conversation (moved there if it was invited
        into it), and a previous owner who leaves has room again. Capacity does not stop it (the
        caller checked what it needs). Raises EngineError: not_found (not running), invalid_value
        (``agent_id`` owns it already)."""
        new = self.agents[agent_id]
        w = self.waiting.get(conversation_id)
        if w is not None:
            return self._assign_waiting(w, new, now)
        owner = self.owner_of.get(conversation_id)
        if owner is None:
            raise EngineError("not_found", "no such conversation", field="conversation_id")
        previous_id, queue = owner
        if previous_id == agent_id:
            raise EngineError("invalid_value", "that is the conversation's owner already", field="conversation_id")
        self._unindex(new)
        new.joined.discard(conversation_id)
        self.joined_by.get(conversation_id, set()).discard(agent_id)
        new.open.add(conversation_id)
        self.owner_of[conversation_id] = (agent_id, queue)
        self._index(new)
        # the refusals of the chat while it waited stay with it: they are about the chat, not its owner
        effects: list[Effect] = [OwnerChanged(conversation_id, previous_id, agent_id, previous_stays)]
        return effects + self.change_load(previous_id, now, drop_open=conversation_id,
                                          join=conversation_id if previous_stays else None)

    def claim_head(self, queue: str, claim_id: str, excluded: set[str]) -> None:
        """``claim_id`` waits at the head of ``queue`` for its next free member not in ``excluded``
        (served by ``_dispatch`` as ``ClaimServed``, with the member's room reserved)."""
        self.claims.setdefault(queue, []).append(Claim(claim_id, queue, set(excluded)))

    def drop_claim(self, queue: str, claim_id: str) -> bool:
        """The claim stops waiting (it timed out, or its conversation ended); False if it was not waiting."""
        claims = self.claims.get(queue, [])
        for i, claim in enumerate(claims):
            if claim.id == claim_id:
                del claims[i]
                if not claims:
                    del self.claims[queue]
                return True
        return False

    # ---- internals -----------------------------------------------------------------------

    def _own_offer(self, agent_id: str, offer_id: str) -> Offer:
        offer = self.offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            # an answered, expired or revoked offer and a never-seen id look the same to a client
            raise EngineError("offer_expired", "this offer is no longer pending", ref=offer_id)
        return offer

    def _auto_away(self, agent: Agent, now: float) -> list[Effect]:
        self._unindex(agent)
        agent.presence = AWAY
        agent.missed_in_row = 0  # the row ends here: once available again it takes N new misses
        self._index(agent)
        effects: list[Effect] = [PresenceChanged(agent.id, AWAY, "system")]
        touched = set()
        for offer_id in sorted(agent.offers):
            touched.add(self.waiting[self.offers[offer_id].conversation_id].queue)
            effects += self._close_offer(offer_id, "revoked", "agent_unavailable", exclude=False)
        for q in sorted(touched):
            effects += self._dispatch(q, now)
        return effects

    def _close_offer(self, offer_id: str, outcome: str, reason: str | None, *, exclude: bool) -> list[Effect]:
        offer = self.offers.pop(offer_id)
        agent = self.agents[offer.agent_id]
        w = self.waiting[offer.conversation_id]
        self._unindex(agent)
        agent.offers.discard(offer_id)
        self._index(agent)
        w.offer_id = None
        if exclude:
            w.excluded.add(agent.id)
        if outcome != "accepted":
            self.queues[w.queue].unoffered.add(w.queue_key)
        return [OfferClosed(offer_id, w.id, agent.id, outcome, reason)]

    def _remove_waiting(self, w: Waiting) -> None:
        q = self.queues[w.queue]
        self._changed_from(w.queue, q.waiting.index(w.queue_key))
        del q.waiting[w.queue_key]
        q.unoffered.discard(w.queue_key)
        del self.waiting[w.id]

    def _count_online(self, agent: Agent) -> None:
        online = agent.connected and agent.presence != OFFLINE
        if online != agent.online_counted:
            step = 1 if online else -1
            for q in agent.queues:
                self.queues[q].online += step
            agent.online_counted = online

    def _index(self, agent: Agent) -> None:
        self._count_online(agent)  # every change of presence or connection passes through here
        if not agent.eligible:
            agent.index_key = None
            return
        key = (len(agent.open), agent.last_offer_at, agent.id)
        agent.index_key = key
        for q in agent.queues:
            self.queues[q].eligible.add(key)

    def _unindex(self, agent: Agent) -> None:
        if agent.index_key is None:
            return
        for q in agent.queues:
            self.queues[q].eligible.discard(agent.index_key)
        agent.index_key = None

    def _dispatch_agent(self, agent: Agent, now: float) -> list[Effect]:
        """An agent may have room: serve its queues, the one whose first chat waited longest first."""
        if not agent.eligible:
            return []
        heads = []
        for name in agent.queues:
            q = self.queues[name]
            if name in self.claims:
                heads.append((_CLAIMS_FIRST, name))
            elif q.unoffered:
                heads.append((q.unoffered[0], name))
        effects: list[Effect] = []
        for _, name in sorted(heads):
            effects += self._dispatch(name, now)
        return effects

    def _dispatch(self, queue: str, now: float) -> list[Effect]:
        """Offer waiting chats of ``queue`` in order to the best eligible agents."""
        q = self.queues[queue]
        effects: list[Effect] = self._serve_claims(queue) if queue in self.claims else []
        i = 0
        while i < len(q.unoffered) and q.eligible:
            key = q.unoffered[i]
            w = self.waiting[q.waiting[key]]
            best = next((k for k in q.eligible if k[2] not in w.excluded), None)
            if best is None:
                i += 1  # nobody free may take this one; the chats behind it still get served
                continue
            effects.append(self._make_offer(w, self.agents[best[2]], now))
            # _make_offer removed ``key`` from unoffered: index i now holds the next chat
        return effects

    def _serve_claims(self, queue: str) -> list[Effect]:
        """The claims at the head of ``queue``, oldest first, each to the best free member it may go
        to; a claim nobody may take yet does not stop the ones behind it."""
        q = self.queues[queue]
        effects: list[Effect] = []
        for claim in list(self.claims[queue]):
            best = next((k[2] for k in q.eligible if k[2] not in claim.excluded), None)
            if best is None:
                continue
            self.drop_claim(queue, claim.id)
            agent = self.agents[best]
            self._unindex(agent)
            agent.transfers += 1
            self._index(agent)
            effects.append(ClaimServed(claim.id, queue, best))
        return effects

    def _assign_waiting(self, w: Waiting, agent: Agent, now: float) -> list[Effect]:
        """``w`` goes to ``agent`` without an offer of its own (a supervisor's decision)."""
        effects: list[Effect] = []
        offered = self.offers[w.offer_id].agent_id if w.offer_id is not None else None
        if w.offer_id is not None:
            effects += self._close_offer(w.offer_id, "revoked", "agent_unavailable", exclude=False)
        self._remove_waiting(w)
        if w.excluded:
            self.refused_by[w.id] = w.excluded
        self._unindex(agent)
        agent.open.add(w.id)
        self.owner_of[w.id] = (agent.id, w.queue)
        self.open_key[w.id] = w.queue_key
        self._index(agent)
        effects.append(Assigned(w.id, agent.id))
        effects += self._dispatch(w.queue, now)
        if offered is not None:
            effects += self._dispatch_agent(self.agents[offered], now)
        return effects

    def _make_offer(self, w: Waiting, agent: Agent, now: float) -> OfferMade:
        offer = Offer(str(uuid.uuid4()), w.id, agent.id)
        self.offers[offer.id] = offer
        w.offer_id = offer.id
        self.queues[w.queue].unoffered.discard(w.queue_key)
        self._unindex(agent)
        agent.offers.add(offer.id)
        agent.last_offer_at = now
        self._index(agent)
        return OfferMade(offer.id, w.id, agent.id)
