"""Routing decisions (engine/routing/decisions.py) without a server or a clock: PROTOCOL.md §5.4–5.6.

The first half pins single behaviours; ``TestRoutingStateMachine`` drives random sequences of
events through a ``RoutingState`` and checks the guarantees after every step against a model
the test keeps on its own (exclusions, assignments, presence, queue order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from frontdesk.core.errors import EngineError
from frontdesk.engine.routing.decisions import (
    AVAILABLE,
    AWAY,
    OFFLINE,
    Assigned,
    Effect,
    LeftConversation,
    OfferClosed,
    OfferMade,
    PresenceChanged,
    Requeued,
    RoutingState,
)

SUPPORT = "support"
SALES = "sales"


class FakeWallClock:
    """A wall clock the test moves by hand (queue keys follow it)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_state(missed_offers_away: int = 2, clock: FakeWallClock | None = None) -> RoutingState:
    return RoutingState(missed_offers_away=missed_offers_away, wall_clock=clock or FakeWallClock())


def add_agent(state: RoutingState, agent_id: str, queues: Iterable[str] = (SUPPORT,), capacity: int = 3,
              presence: str | None = AVAILABLE, now: float = 0.0) -> list[Effect]:
    """Create an agent; connect it with ``presence`` unless that is None."""
    state.upsert_agent(agent_id, agent_id.title(), frozenset(queues), capacity)
    if presence is None:
        return []
    return state.agent_connected(agent_id, presence, now)


def enqueue(state: RoutingState, conversation_id: str, queue: str = SUPPORT, now: float = 1.0) -> list[Effect]:
    state.add_queue(queue)
    return state.enqueue(conversation_id, queue, state.next_queue_key(), now)


def made(effects: Iterable[Effect]) -> list[tuple[str, str]]:
    """(conversation, agent) of every offer made, in order."""
    return [(e.conversation_id, e.agent_id) for e in effects if isinstance(e, OfferMade)]


def closed(effects: Iterable[Effect]) -> list[tuple[str, str, str, str | None]]:
    """(conversation, agent, outcome, reason) of every offer closed, in order."""
    return [(e.conversation_id, e.agent_id, e.outcome, e.reason) for e in effects if isinstance(e, OfferClosed)]


def offer_of(state: RoutingState, conversation_id: str) -> str:
    """The id of the pending offer of ``conversation_id``."""
    offer_id = state.waiting[conversation_id].offer_id
    assert offer_id is not None, f"{conversation_id} has no pending offer"
    return offer_id


def pending(state: RoutingState) -> dict[str, str]:
    """conversation -> agent of every pending offer."""
    return {o.conversation_id: o.agent_id for o in state.offers.values()}


# ---- choosing the agent --------------------------------------------------------------------

def test_offer_goes_to_agent_with_fewest_open_conversations() -> None:
    state = make_state()
    add_agent(state, "ann", presence=None)
    add_agent(state, "bob", presence=None)
    state.restore_open("old-1", SUPPORT, "ann")
    state.agent_connected("ann", AVAILABLE, 0.0)
    state.agent_connected("bob", AVAILABLE, 0.0)

    assert made(enqueue(state, "c1", now=1.0)) == [("c1", "bob")]

    # bob has a pending offer now, but the choice counts open conversations: still bob (0 vs 1)
    assert made(enqueue(state, "c2", now=2.0)) == [("c2", "bob")]


def test_tie_broken_by_longest_since_last_offer() -> None:
    state = make_state()
    for agent_id in ("ann", "bob", "cat"):
        add_agent(state, agent_id, capacity=5)

    # all three tie on open conversations; nobody had an offer: the id decides
    assert made(enqueue(state, "c1", now=10.0)) == [("c1", "ann")]
    # ann had an offer at 10, bob and cat never: the longest wait since the last offer wins
    assert made(enqueue(state, "c2", now=11.0)) == [("c2", "bob")]
    assert made(enqueue(state, "c3", now=12.0)) == [("c3", "cat")]
    # ann's last offer (10) is now the oldest
    assert made(enqueue(state, "c4", now=13.0)) == [("c4", "ann")]


def test_agent_never_offered_beats_one_offered_at_clock_zero() -> None:
    # trio's clock may start at 0 (MockClock does): an offer at now=0 still counts as an offer
    state = make_state()
    add_agent(state, "ann", capacity=5)
    add_agent(state, "bob", capacity=5)
    assert made(enqueue(state, "c1", now=0.0)) == [("c1", "ann")]
    assert made(enqueue(state, "c2", now=0.5)) == [("c2", "bob")]


def test_fewest_open_conversations_beats_longest_since_last_offer() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=5)
    add_agent(state, "bob", capacity=5)
    enqueue(state, "c1", now=1.0)
    state.accept("ann", offer_of(state, "c1"), 2.0)  # ann: one open, last offer at 1
    enqueue(state, "c2", now=3.0)                    # -> bob (0 open), last offer at 3
    assert pending(state) == {"c2": "bob"}
    state.accept("bob", offer_of(state, "c2"), 4.0)  # bob: one open, last offer at 3
    state.conversation_ended("c2", 5.0)              # bob: 0 open again
    # ann waited longer since her last offer, but bob has fewer open conversations
    assert made(enqueue(state, "c3", now=6.0)) == [("c3", "bob")]


# ---- reject and expire -----------------------------------------------------------------------

def test_rejected_offer_goes_to_next_agent_and_never_back() -> None:
    state = make_state()
    add_agent(state, "ann")
    add_agent(state, "bob")
    assert made(enqueue(state, "c1")) == [("c1", "ann")]

    effects = state.reject("ann", offer_of(state, "c1"), "busy", 2.0)
    assert closed(effects) == [("c1", "ann", "rejected", "busy")]
    assert made(effects) == [("c1", "bob")]   # at once, in the same event

    effects = state.reject("bob", offer_of(state, "c1"), None, 3.0)
    assert made(effects) == []                # ann rejected it before: never back to her
    assert state.waiting["c1"].offer_id is None
    assert state.position("c1") == 1

    # ann freeing room or coming back does not bring it back either
    assert made(state.set_presence("ann", AWAY, 4.0)) == []
    assert made(state.set_presence("ann", AVAILABLE, 5.0)) == []
    # a new agent may take it
    assert made(add_agent(state, "cat", now=6.0)) == [("c1", "cat")]


def test_expired_offer_excludes_agent_and_counts_towards_auto_away() -> None:
    state = make_state(missed_offers_away=2)
    add_agent(state, "ann", capacity=3)
    assert made(enqueue(state, "c1", now=1.0) + enqueue(state, "c2", now=2.0) + enqueue(state, "c3", now=3.0)) == [
        ("c1", "ann"), ("c2", "ann"), ("c3", "ann")]
    o1, o2, o3 = offer_of(state, "c1"), offer_of(state, "c2"), offer_of(state, "c3")

    effects = state.expire(o1, 10.0)
    assert closed(effects) == [("c1", "ann", "expired", None)]
    assert made(effects) == []                          # ann has room but let c1 expire
    assert not [e for e in effects if isinstance(e, PresenceChanged)]
    assert state.agents["ann"].presence == AVAILABLE

    effects = state.expire(o2, 11.0)                     # the second in a row
    assert closed(effects) == [("c2", "ann", "expired", None), ("c3", "ann", "revoked", "agent_unavailable")]
    assert PresenceChanged("ann", AWAY, "system") in effects
    assert made(effects) == []
    assert state.agents["ann"].presence == AWAY
    assert state.offers == {}
    assert o3 not in state.offers

    # every chat keeps its place; a new agent serves them first come, first served
    assert state.positions(SUPPORT) == [("c1", 1), ("c2", 2), ("c3", 3)]
    assert made(add_agent(state, "bob", capacity=3, now=12.0)) == [("c1", "bob"), ("c2", "bob"), ("c3", "bob")]
    # ann may have c3 again (it was revoked, not refused) but not c1 or c2
    assert state.waiting["c3"].excluded == set()
    assert state.waiting["c1"].excluded == {"ann"}


def test_stale_expiry_changes_nothing() -> None:
    state = make_state()
    add_agent(state, "ann")
    enqueue(state, "c1")
    offer_id = offer_of(state, "c1")
    state.accept("ann", offer_id, 2.0)
    assert state.expire(offer_id, 3.0) == []
    assert state.owner_of == {"c1": ("ann", SUPPORT)}
    assert state.agents["ann"].missed_in_row == 0


def test_reject_resets_missed_counter() -> None:
    state = make_state(missed_offers_away=2)
    add_agent(state, "ann", capacity=3)
    for i, cid in enumerate(("c1", "c2", "c3")):
        enqueue(state, cid, now=float(i))
    o1, o2, o3 = offer_of(state, "c1"), offer_of(state, "c2"), offer_of(state, "c3")

    state.expire(o1, 10.0)
    state.reject("ann", o2, None, 11.0)
    effects = state.expire(o3, 12.0)
    assert not [e for e in effects if isinstance(e, PresenceChanged)]
    assert state.agents["ann"].presence == AVAILABLE


def test_accept_resets_missed_counter() -> None:
    state = make_state(missed_offers_away=2)
    add_agent(state, "ann", capacity=3)
    for i, cid in enumerate(("c1", "c2", "c3")):
        enqueue(state, cid, now=float(i))
    o1, o2, o3 = offer_of(state, "c1"), offer_of(state, "c2"), offer_of(state, "c3")

    state.expire(o1, 10.0)
    state.accept("ann", o2, 11.0)
    state.expire(o3, 12.0)
    assert state.agents["ann"].presence == AVAILABLE


def test_missed_counter_starts_again_after_auto_away() -> None:
    state = make_state(missed_offers_away=2)
    add_agent(state, "ann", capacity=1)
    enqueue(state, "c1", now=1.0)
    state.expire(offer_of(state, "c1"), 2.0)
    enqueue(state, "c2", now=3.0)
    state.expire(offer_of(state, "c2"), 4.0)
    assert state.agents["ann"].presence == AWAY

    # ann's laptop sleeps and wakes within the grace: her sockets reconnect as available
    state.agent_disconnected("ann")
    state.agent_connected("ann", AVAILABLE, 5.0)
    enqueue(state, "c3", now=6.0)
    effects = state.expire(offer_of(state, "c3"), 7.0)   # one miss after coming back, not two
    assert not [e for e in effects if isinstance(e, PresenceChanged)]
    assert state.agents["ann"].presence == AVAILABLE


# ---- capacity and queue order ----------------------------------------------------------------

def test_capacity_counts_open_conversations_and_pending_offers() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    assert made(enqueue(state, "c1")) == [("c1", "ann")]
    assert made(enqueue(state, "c2")) == []              # one pending offer fills capacity 1
    state.accept("ann", offer_of(state, "c1"), 2.0)
    assert made(enqueue(state, "c3")) == []              # one open conversation fills it too
    assert state.agents["ann"].load == 1

    add_agent(state, "bob", capacity=2)                   # one offer (c2), then another (c3)
    assert pending(state) == {"c2": "bob", "c3": "bob"}
    assert made(enqueue(state, "c4")) == []
    assert state.agents["bob"].load == 2


def test_a_raised_capacity_offers_what_waits_at_once() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    enqueue(state, "c1")
    state.accept("ann", offer_of(state, "c1"), 2.0)
    assert made(enqueue(state, "c2")) == []
    assert made(state.update_agent("ann", "Ann", frozenset({SUPPORT}), 2, 3.0)) == [("c2", "ann")]


def test_a_queue_given_to_an_agent_is_served_and_one_taken_away_is_not() -> None:
    state = make_state()
    add_agent(state, "ann", queues=("sales",))
    assert made(enqueue(state, "c1")) == []
    assert made(state.update_agent("ann", "Ann", frozenset({"sales", SUPPORT}), 3, 2.0)) == [("c1", "ann")]
    assert state.agents_online(SUPPORT) == 1
    state.update_agent("ann", "Ann", frozenset({"sales"}), 3, 3.0)
    assert state.agents_online(SUPPORT) == 0 and made(enqueue(state, "c2")) == []


def test_fcfs_without_head_of_line_blocking() -> None:
    state = make_state()
    add_agent(state, "xavier", capacity=1)
    assert made(enqueue(state, "a")) == [("a", "xavier")]
    assert made(enqueue(state, "b")) == []

    effects = state.reject("xavier", offer_of(state, "a"), None, 2.0)
    # a stays first in the queue but may not go back to xavier; b behind it is not blocked
    assert made(effects) == [("b", "xavier")]
    assert state.positions(SUPPORT) == [("a", 1), ("b", 2)]

    assert made(add_agent(state, "yvonne", capacity=1, now=3.0)) == [("a", "yvonne")]


def test_chat_keeps_its_queue_position_after_reject() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    add_agent(state, "bob", capacity=1)
    enqueue(state, "c1")
    enqueue(state, "c2")
    enqueue(state, "c3")
    assert pending(state) == {"c1": "ann", "c2": "bob"}

    effects = state.reject("ann", offer_of(state, "c1"), None, 2.0)
    assert made(effects) == [("c3", "ann")]
    assert state.positions(SUPPORT) == [("c1", 1), ("c2", 2), ("c3", 3)]
    assert state.position("c1") == 1

    # bob has room again: c1, first in the queue, goes before c2 that bob let go
    effects = state.reject("bob", offer_of(state, "c2"), None, 3.0)
    assert made(effects) == [("c1", "bob")]
    assert state.positions(SUPPORT) == [("c1", 1), ("c2", 2), ("c3", 3)]


def test_away_and_disconnected_agents_get_no_offers() -> None:
    state = make_state()
    add_agent(state, "ann", presence=AWAY)
    add_agent(state, "bob")
    state.agent_disconnected("bob")
    add_agent(state, "cat", presence=None)                # signed up, never connected
    add_agent(state, "dan", queues=(SALES,))              # available, but not a member

    assert made(enqueue(state, "c1")) == []
    assert state.agents_online(SUPPORT) == 1              # ann: away counts as online

    assert made(state.set_presence("ann", AVAILABLE, 2.0)) == [("c1", "ann")]
    state.set_presence("ann", AWAY, 3.0)
    assert made(enqueue(state, "c2")) == []
    assert made(state.agent_connected("bob", AVAILABLE, 4.0)) == [("c2", "bob")]


def test_set_presence_reports_the_change() -> None:
    state = make_state()
    add_agent(state, "ann")
    assert state.set_presence("ann", AWAY, 1.0) == [PresenceChanged("ann", AWAY, "agent")]


def test_agent_offline_revokes_offers_and_requeues_conversations_at_head() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=3)
    for cid in ("c1", "c2", "c3"):
        enqueue(state, cid)
    state.accept("ann", offer_of(state, "c1"), 2.0)
    state.accept("ann", offer_of(state, "c2"), 2.0)
    enqueue(state, "c4")
    enqueue(state, "c5")
    assert pending(state) == {"c3": "ann"}
    o3 = offer_of(state, "c3")

    state.agent_disconnected("ann")                       # grace: she keeps everything
    assert state.owner_of.keys() == {"c1", "c2"}
    assert o3 in state.offers

    effects = state.agent_offline("ann", 5.0)
    assert closed(effects) == [("c3", "ann", "revoked", "agent_unavailable")]
    requeued = [e for e in effects if isinstance(e, Requeued)]
    assert {e.conversation_id for e in requeued} == {"c1", "c2"}
    assert all(e.agent_id == "ann" and e.queue_key < 0 for e in requeued)
    assert made(effects) == []
    assert state.owner_of == {}
    assert state.agents["ann"].presence == OFFLINE
    assert state.agents["ann"].load == 0

    order = [cid for cid, _ in state.positions(SUPPORT)]
    assert set(order[:2]) == {"c1", "c2"}                 # ahead of everyone who waited
    assert order[2:] == ["c3", "c4", "c5"]
    assert [p for _, p in state.positions(SUPPORT)] == [1, 2, 3, 4, 5]
    for e in requeued:
        assert state.waiting[e.conversation_id].queue_key == e.queue_key

    # the next agent serves the requeued ones first
    effects = add_agent(state, "bob", capacity=2, now=6.0)
    assert {cid for cid, _ in made(effects)} == {"c1", "c2"}


def test_requeued_conversation_is_not_offered_to_an_agent_who_refused_it_before() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    add_agent(state, "bob", capacity=1)
    enqueue(state, "c1")
    state.reject("ann", offer_of(state, "c1"), None, 2.0)
    state.accept("bob", offer_of(state, "c1"), 3.0)
    state.agent_disconnected("bob")
    effects = state.agent_offline("bob", 4.0)
    assert made(effects) == []                            # ann rejected c1: never offered it
    assert state.position("c1") == 1
    assert made(add_agent(state, "cat", capacity=1, now=5.0)) == [("c1", "cat")]


# ---- conversations ending --------------------------------------------------------------------

def test_customer_left_revokes_pending_offer() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    enqueue(state, "c1")
    enqueue(state, "c2")
    enqueue(state, "c3")

    effects = state.customer_left("c1", 2.0)
    assert closed(effects) == [("c1", "ann", "revoked", "customer_left")]
    assert made(effects) == [("c2", "ann")]               # her room goes to the next chat
    assert "c1" not in state.waiting
    assert state.positions(SUPPORT) == [("c2", 1), ("c3", 2)]

    # a chat without an offer just leaves the queue
    assert state.customer_left("c3", 3.0) == []
    assert state.positions(SUPPORT) == [("c2", 1)]
    # and twice is harmless
    assert state.customer_left("c3", 4.0) == []


def test_customer_leaving_a_requeued_chat_frees_the_agents_invited_into_it() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    add_agent(state, "bob", capacity=1)
    enqueue(state, "c1")
    state.accept("ann", offer_of(state, "c1"), 2.0)
    state.change_load("bob", 3.0, join="c1")              # bob was invited in and joined
    state.agent_disconnected("ann")
    state.agent_offline("ann", 4.0)                       # c1 waits again; bob is still in it
    assert state.position("c1") == 1
    assert state.agents["bob"].load == 1

    state.customer_left("c1", 5.0)
    assert state.agents["bob"].load == 0
    assert "c1" not in state.joined_by
    assert made(enqueue(state, "c2", now=6.0)) == [("c2", "bob")]


def test_conversation_ended_frees_capacity_and_dispatches() -> None:
    state = make_state()
    add_agent(state, "ann", capacity=1)
    enqueue(state, "c1")
    state.accept("ann", offer_of(state, "c1"), 2.0)
    enqueue(state, "c2")
    assert made(state.conversation_ended("c1", 3.0)) == [("c2", "ann")]
    assert state.agents["ann"].open == set()
    assert state.conversation_ended("c1", 4.0) == []      # twice is harmless

    # ending through the customer (customer_left on an assigned chat) does the same
    state.accept("ann", offer_of(state, "c2"), 5.0)
    enqueue(state, "c3")
    assert made(state.customer_left("c2", 6.0)) == [("c3", "ann")]


def test_accept_assigns_and_removes_from_queue() -> None:
    state = make_state()
    add_agent(state, "ann")
    enqueue(state, "c1")
    enqueue(state, "c2")
    effects = state.accept("ann", offer_of(state, "c1"), 2.0)
    assert closed(effects) == [("c1", "ann", "accepted", None)]
    assert Assigned("c1", "ann") in effects
    assert state.owner_of == {"c1": ("ann", SUPPORT)}
    assert state.positions(SUPPORT) == [("c2", 1)]


def test_accept_of_unknown_or_foreign_offer_is_offer_expired() -> None:
    state = make_state()
    add_agent(state, "ann")
    add_agent(state, "bob")
    enqueue(state, "c1")
    enqueue(state, "c2")
    assert pending(state) == {"c1": "ann", "c2": "bob"}
    o1, o2 = offer_of(state, "c1"), offer_of(state, "c2")

    for agent_id, offer_id in (("ann", "no-such-offer"), ("ann", o2), ("bob", o1)):
        with pytest.raises(EngineError) as info:
            state.accept(agent_id, offer_id, 2.0)
        assert info.value.code == "offer_expired"
        assert info.value.ref == offer_id
        with pytest.raises(EngineError) as info:
            state.reject(agent_id, offer_id, None, 2.0)
        assert info.value.code == "offer_expired"
    assert pending(state) == {"c1": "ann", "c2": "bob"}   # nothing changed

    state.accept("ann", o1, 3.0)
    with pytest.raises(EngineError) as info:              # accepted twice
        state.accept("ann", o1, 4.0)
    assert info.value.code == "offer_expired"
    state.expire(o2, 5.0)
    with pytest.raises(EngineError) as info:              # too late
        state.accept("bob", o2, 6.0)
    assert info.value.code == "offer_expired"


def test_enqueue_in_unknown_queue_is_not_found() -> None:
    state = make_state()
    with pytest.raises(EngineError) as info:
        state.enqueue("c1", "nowhere", state.next_queue_key(), 1.0)
    assert info.value.code == "not_found"


# ---- several queues, queue keys --------------------------------------------------------------

@pytest.mark.parametrize("older", [SUPPORT, SALES])
def test_agent_in_two_queues_serves_the_longest_waiting_head_first(older: str) -> None:
    clock = FakeWallClock()
    state = make_state(clock=clock)
    add_agent(state, "xavier", queues=(SUPPORT, SALES), capacity=1, presence=AWAY)
    newer = SALES if older == SUPPORT else SUPPORT
    enqueue(state, "old", queue=older)
    clock.now += 5
    enqueue(state, "new", queue=newer)

    assert made(state.set_presence("xavier", AVAILABLE, 2.0)) == [("old", "xavier")]
    assert made(state.reject("xavier", offer_of(state, "old"), None, 3.0)) == [("new", "xavier")]


def test_queue_keys_increase_and_head_keys_decrease() -> None:
    clock = FakeWallClock(1_000.0)
    state = make_state(clock=clock)
    k1 = state.next_queue_key()
    k2 = state.next_queue_key()                           # same wall time: still increasing
    clock.now = 900.0                                      # the wall clock steps back
    k3 = state.next_queue_key()
    clock.now = 2_000.0
    k4 = state.next_queue_key()
    assert 0 < k1 < k2 < k3 < k4
    assert k1 == 1_000_000_000 and k4 == 2_000_000_000     # microseconds of wall time

    # a key restored from the database (before a restart) moves the tail past it
    state.add_queue(SUPPORT)
    state.enqueue("restored", SUPPORT, 5_000_000_000, 0.0)
    assert state.next_queue_key() > 5_000_000_000

    # conversations back at the head get negative keys, each further ahead
    add_agent(state, "ann", capacity=4)
    for cid in ("c1", "c2", "c3"):
        enqueue(state, cid)
    state.accept("ann", offer_of(state, "restored"), 1.0)
    state.accept("ann", offer_of(state, "c1"), 1.0)
    state.agent_disconnected("ann")
    first = [e.queue_key for e in state.agent_offline("ann", 2.0) if isinstance(e, Requeued)]
    assert len(first) == 2 and all(k < 0 for k in first)
    assert first[1] < first[0]

    state.agent_connected("ann", AVAILABLE, 3.0)          # takes the requeued ones again
    for cid in [cid for cid, agent in pending(state).items() if agent == "ann"]:
        state.accept("ann", offer_of(state, cid), 3.0)
    clock.now = 1_500.0                                     # the wall clock steps back again
    state.agent_disconnected("ann")
    second = [e.queue_key for e in state.agent_offline("ann", 4.0) if isinstance(e, Requeued)]
    assert second and max(second) < min(first)


def test_positions_follow_queue_order() -> None:
    state = make_state()
    state.add_queue(SUPPORT)
    for cid in ("c1", "c2", "c3"):
        enqueue(state, cid)
    assert [state.position(c) for c in ("c1", "c2", "c3")] == [1, 2, 3]
    assert state.position("unknown") is None
    assert state.dirty_from == {SUPPORT: 0}
    state.dirty_from.clear()
    enqueue(state, "c4")                                    # at the tail: only its own place changed
    assert state.dirty_from == {SUPPORT: 3}
    state.customer_left("c2", 2.0)                          # the second place: it and those after
    assert state.positions(SUPPORT) == [("c1", 1), ("c3", 2), ("c4", 3)]
    assert state.dirty_from == {SUPPORT: 1}
    assert state.positions(SUPPORT, 1) == [("c3", 2), ("c4", 3)]


# ---- the state machine -----------------------------------------------------------------------

QUEUES = ("q0", "q1", "q2")
AGENTS = ("a0", "a1", "a2", "a3")
MISSED_OFFERS_AWAY = 2


class RoutingMachine(RuleBasedStateMachine):
    """Random events through a RoutingState; the model here is kept from the events alone."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeWallClock()
        self.now = 0.0
        self.state = RoutingState(missed_offers_away=MISSED_OFFERS_AWAY, wall_clock=self.clock)
        self.n_chats = 0
        # the model
        self.members: dict[str, frozenset[str]] = {}
        self.capacity: dict[str, int] = {}
        self.connected: dict[str, bool] = {}
        self.presence: dict[str, str] = {}
        self.missed: dict[str, int] = {}
        self.queue_of: dict[str, str] = {}                 # every live conversation -> queue
        self.order: dict[str, list[str]] = {q: [] for q in QUEUES}   # waiting, first first
        self.assigned: dict[str, str] = {}                 # conversation -> agent
        self.joined: dict[str, set[str]] = {}              # conversation -> agents invited into it
        self.offers: dict[str, tuple[str, str]] = {}       # offer id -> (conversation, agent)
        self.excluded: dict[str, set[str]] = {}            # conversation -> agents who refused it
        self.told: dict[str, list[str]] = {q: [] for q in QUEUES}    # waiting, as last published

    # ---- helpers

    def tick(self) -> float:
        self.now += 1.0
        self.clock.now += 1.0
        return self.now

    def load(self, agent_id: str) -> int:
        return (sum(1 for _, a in self.offers.values() if a == agent_id)
                + sum(1 for a in self.assigned.values() if a == agent_id)
                + sum(1 for agents in self.joined.values() if agent_id in agents))

    def free_for(self, agent_id: str, conversation_id: str) -> bool:
        """May ``agent_id`` be offered ``conversation_id`` now (PROTOCOL.md §5.4)?"""
        return (self.connected[agent_id] and self.presence[agent_id] == AVAILABLE
                and self.queue_of[conversation_id] in self.members[agent_id]
                and self.load(agent_id) < self.capacity[agent_id]
                and agent_id not in self.excluded[conversation_id])

    def apply(self, effects: list[Effect]) -> None:
        """Follow the effects in order, checking each against the model as it stands then."""
        assigned_now = []
        for e in effects:
            if isinstance(e, OfferMade):
                assert e.offer_id not in self.offers
                assert e.conversation_id not in {c for c, _ in self.offers.values()}, "two offers for one chat"
                assert e.conversation_id in self.order[self.queue_of[e.conversation_id]], "offer of a chat not waiting"
                assert self.free_for(e.agent_id, e.conversation_id), f"offer to an ineligible agent: {e}"
                self.offers[e.offer_id] = (e.conversation_id, e.agent_id)
            elif isinstance(e, OfferClosed):
                assert self.offers.pop(e.offer_id) == (e.conversation_id, e.agent_id)
            elif isinstance(e, PresenceChanged):
                self.presence[e.agent_id] = e.state
                if e.by == "system":
                    assert e.state == AWAY
                    self.missed[e.agent_id] = 0
            elif isinstance(e, Assigned):
                assigned_now.append(e)
            elif isinstance(e, Requeued):
                assert self.assigned.pop(e.conversation_id) == e.agent_id
                self.order[self.queue_of[e.conversation_id]].insert(0, e.conversation_id)
                # colleagues still in the chat are not offered it (routing.py, agent_offline)
                self.excluded[e.conversation_id] |= self.joined[e.conversation_id]
            elif isinstance(e, LeftConversation):
                self.joined[e.conversation_id].remove(e.agent_id)
        assert not assigned_now, "Assigned comes only from accept"

    def live(self) -> list[str]:
        return sorted(self.queue_of)

    def draw_offer(self, data: st.DataObject, agent_other_than: str | None = None) -> str:
        """A pending offer; offer ids are random uuids, so order them by what they offer."""
        by_what = sorted((what, offer_id) for offer_id, what in self.offers.items() if what[1] != agent_other_than)
        return str(data.draw(st.sampled_from([offer_id for _, offer_id in by_what] or ["never-made"])))

    # ---- setup

    @initialize(setup=st.lists(st.tuples(st.sets(st.sampled_from(QUEUES), min_size=1), st.integers(1, 3)),
                               min_size=len(AGENTS), max_size=len(AGENTS)))
    def add_agents(self, setup: list[tuple[set[str], int]]) -> None:
        for agent_id, (queues, capacity) in zip(AGENTS, setup, strict=True):
            self.state.upsert_agent(agent_id, agent_id, frozenset(queues), capacity)
            self.members[agent_id] = frozenset(queues)
            self.capacity[agent_id] = capacity
            self.connected[agent_id] = False
            self.presence[agent_id] = OFFLINE
            self.missed[agent_id] = 0
        for q in QUEUES:
            self.state.add_queue(q)

    # ---- rules

    @rule(queue=st.sampled_from(QUEUES))
    def add_chat(self, queue: str) -> None:
        self.n_chats += 1
        cid = f"c{self.n_chats:03d}"
        self.queue_of[cid] = queue
        self.order[queue].append(cid)
        self.excluded[cid] = set()
        self.joined[cid] = set()
        self.apply(self.state.enqueue(cid, queue, self.state.next_queue_key(), self.tick()))

    @rule()
    def publish_positions(self) -> None:
        """As the Router's tick: the places before ``dirty_from`` hold the chats they held when
        positions were last published, so only the chats from there on need to hear theirs."""
        for q in QUEUES:
            now = [cid for cid, _ in self.state.positions(q)]
            start = self.state.dirty_from.get(q, len(now))
            assert now[:start] == self.told[q][:start], (q, start)   # (a chat that left needs no position)
            assert self.state.positions(q, start) == [(cid, start + i + 1) for i, cid in enumerate(now[start:])]
            self.told[q] = now
        self.state.dirty_from.clear()

    @rule(agent_id=st.sampled_from(AGENTS), presence=st.sampled_from([AVAILABLE, AVAILABLE, AWAY]))
    def agent_connects(self, agent_id: str, presence: str) -> None:
        if self.connected[agent_id]:
            return
        self.connected[agent_id] = True
        self.presence[agent_id] = presence
        self.apply(self.state.agent_connected(agent_id, presence, self.tick()))

    @rule(agent_id=st.sampled_from(AGENTS))
    def agent_disconnects(self, agent_id: str) -> None:
        if not self.connected[agent_id]:
            return
        self.connected[agent_id] = False
        assert self.state.agent_disconnected(agent_id) == []

    @rule(agent_id=st.sampled_from(AGENTS))
    def agent_goes_offline(self, agent_id: str) -> None:
        if self.connected[agent_id]:
            return  # only after the grace, with no socket
        self.presence[agent_id] = OFFLINE
        self.missed[agent_id] = 0
        mine = {cid for cid, a in self.assigned.items() if a == agent_id}
        effects = self.state.agent_offline(agent_id, self.tick())
        self.apply(effects)
        assert {e.conversation_id for e in effects if isinstance(e, Requeued)} == mine
        assert not [o for o in self.offers.values() if o[1] == agent_id]

    @rule(agent_id=st.sampled_from(AGENTS), presence=st.sampled_from([AVAILABLE, AWAY]))
    def set_presence(self, agent_id: str, presence: str) -> None:
        if not self.connected[agent_id]:
            return
        self.presence[agent_id] = presence
        if presence == AVAILABLE:
            self.missed[agent_id] = 0
        effects = self.state.set_presence(agent_id, presence, self.tick())
        assert effects[0] == PresenceChanged(agent_id, presence, "agent")
        self.apply(effects)

    @precondition(lambda self: bool(self.offers))
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        offer_id = self.draw_offer(data)
        cid, agent_id = self.offers[offer_id]
        assert cid not in self.assigned
        effects = self.state.accept(agent_id, offer_id, self.tick())
        assert Assigned(cid, agent_id) in effects
        self.missed[agent_id] = 0
        self.order[self.queue_of[cid]].remove(cid)
        self.assigned[cid] = agent_id
        self.apply([e for e in effects if not isinstance(e, Assigned)])

    @precondition(lambda self: bool(self.offers))
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        offer_id = self.draw_offer(data)
        cid, agent_id = self.offers[offer_id]
        self.excluded[cid].add(agent_id)
        self.missed[agent_id] = 0
        self.apply(self.state.reject(agent_id, offer_id, None, self.tick()))

    @precondition(lambda self: bool(self.offers))
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        offer_id = self.draw_offer(data)
        cid, agent_id = self.offers[offer_id]
        self.excluded[cid].add(agent_id)
        self.missed[agent_id] += 1
        goes_away = self.missed[agent_id] >= MISSED_OFFERS_AWAY and self.presence[agent_id] == AVAILABLE
        effects = self.state.expire(offer_id, self.tick())
        assert (PresenceChanged(agent_id, AWAY, "system") in effects) == goes_away
        self.apply(effects)

    @rule(agent_id=st.sampled_from(AGENTS), data=st.data())
    def foreign_accept_is_refused(self, agent_id: str, data: st.DataObject) -> None:
        offer_id = self.draw_offer(data, agent_other_than=agent_id) if data.draw(st.booleans()) else "never-made"
        with pytest.raises(EngineError) as info:
            self.state.accept(agent_id, offer_id, self.tick())
        assert info.value.code == "offer_expired"

    @precondition(lambda self: bool(self.queue_of))
    @rule(data=st.data())
    def customer_leaves(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.live()))
        queue = self.queue_of.pop(cid)
        self.joined[cid].clear()
        if cid in self.assigned:
            del self.assigned[cid]
        else:
            self.order[queue].remove(cid)
        effects = self.state.customer_left(cid, self.tick())
        revoked = [e for e in effects if isinstance(e, OfferClosed)]
        assert all(e.outcome == "revoked" and e.reason == "customer_left" and e.conversation_id == cid
                   for e in revoked)
        self.apply(effects)
        assert cid not in {c for c, _ in self.offers.values()}

    @precondition(lambda self: bool(self.assigned))
    @rule(data=st.data())
    def end_assigned(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.assigned)))
        del self.assigned[cid]
        del self.queue_of[cid]
        self.joined[cid].clear()
        self.apply(self.state.conversation_ended(cid, self.tick()))

    @precondition(lambda self: bool(self.assigned))
    @rule(data=st.data())
    def colleague_joins(self, data: st.DataObject) -> None:
        """An invited agent joins an assigned conversation (what InvitationDesk does on accept)."""
        cid = data.draw(st.sampled_from(sorted(self.assigned)))
        room = [a for a in AGENTS if a != self.assigned[cid] and a not in self.joined[cid]
                and self.connected[a] and self.presence[a] != OFFLINE and self.load(a) < self.capacity[a]]
        if not room:
            return
        agent_id = data.draw(st.sampled_from(room))
        self.joined[cid].add(agent_id)
        self.apply(self.state.change_load(agent_id, self.tick(), join=cid))

    @precondition(lambda self: any(self.joined.values()))
    @rule(data=st.data())
    def colleague_leaves(self, data: st.DataObject) -> None:
        cid, agent_id = data.draw(st.sampled_from(sorted((c, a) for c, agents in self.joined.items() for a in agents)))
        self.joined[cid].remove(agent_id)
        self.apply(self.state.change_load(agent_id, self.tick(), leave=cid))

    # ---- invariants

    @invariant()
    def engine_agrees_with_model(self) -> None:
        s = self.state
        assert {o.id: (o.conversation_id, o.agent_id) for o in s.offers.values()} == self.offers
        assert {cid: owner for cid, (owner, _) in s.owner_of.items()} == self.assigned
        assert {c: a for c, a in s.joined_by.items() if a} == {c: a for c, a in self.joined.items() if a}
        assert set(s.waiting) == {cid for q in QUEUES for cid in self.order[q]}
        for agent_id in AGENTS:
            a = s.agents[agent_id]
            assert a.connected == self.connected[agent_id]
            assert a.presence == self.presence[agent_id]

    @invariant()
    def no_conversation_waits_and_is_assigned(self) -> None:
        assert not set(self.state.waiting) & set(self.state.owner_of)
        owners = Counter(cid for a in self.state.agents.values() for cid in a.open)
        assert all(n == 1 for n in owners.values()), "a conversation assigned twice"
        assert set(owners) == set(self.state.owner_of)

    @invariant()
    def online_counts_match_a_recount(self) -> None:
        for name, q in self.state.queues.items():
            recount = sum(1 for m in q.members
                          if self.state.agents[m].connected and self.state.agents[m].presence != OFFLINE)
            assert self.state.agents_online(name) == recount, name

    @invariant()
    def at_most_one_offer_per_conversation(self) -> None:
        per_chat = Counter(o.conversation_id for o in self.state.offers.values())
        assert all(n == 1 for n in per_chat.values())
        for cid, w in self.state.waiting.items():
            mine = [o.id for o in self.state.offers.values() if o.conversation_id == cid]
            assert mine == ([w.offer_id] if w.offer_id else [])
        assert not set(per_chat) & set(self.state.owner_of)

    @invariant()
    def load_within_capacity(self) -> None:
        for agent_id in AGENTS:
            a = self.state.agents[agent_id]
            assert self.load(agent_id) == a.load
            assert a.load <= self.capacity[agent_id]

    @invariant()
    def never_offered_after_refusing(self) -> None:
        for cid, agent_id in self.offers.values():
            assert agent_id not in self.excluded[cid]

    @invariant()
    def work_is_conserved(self) -> None:
        offered = {cid for cid, _ in self.offers.values()}
        for q in QUEUES:
            for cid in self.order[q]:
                if cid in offered:
                    continue
                free = [a for a in AGENTS if self.free_for(a, cid)]
                assert not free, f"{cid} waits without an offer while {free} could take it"

    @invariant()
    def positions_are_queue_order(self) -> None:
        for q in QUEUES:
            assert self.state.positions(q) == [(cid, i + 1) for i, cid in enumerate(self.order[q])]
            for i, cid in enumerate(self.order[q]):
                assert self.state.position(cid) == i + 1


TestRoutingStateMachine = RoutingMachine.TestCase
TestRoutingStateMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
