"""Transfer decisions (engine/routing/transfers.py) and the ownership change they share with a
reassignment (``RoutingState.change_owner``), without a server or a clock: PROTOCOL.md §8, §14.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from frontdesk.core.errors import EngineError
from frontdesk.engine.routing.decisions import (
    AWAY,
    OFFLINE,
    Assigned,
    ClaimServed,
    Effect,
    OfferMade,
    OwnerChanged,
    RoutingState,
)
from frontdesk.engine.routing.invitations import InvitationDesk
from frontdesk.engine.routing.transfers import (
    TransferClosed,
    TransferDesk,
    TransferEffect,
    TransferOffered,
    TransferWaiting,
)

SUPPORT = "support"
SALES = "sales"


def make() -> tuple[RoutingState, TransferDesk]:
    state = RoutingState(missed_offers_away=2, wall_clock=lambda: 1_700_000_000.0)
    for q in (SUPPORT, SALES):
        state.add_queue(q)
    return state, TransferDesk(state)


def add_agent(state: RoutingState, agent_id: str, queues: Iterable[str] = (SUPPORT,), capacity: int = 3,
              presence: str = "available") -> None:
    state.upsert_agent(agent_id, agent_id.title(), frozenset(queues), capacity)
    state.agent_connected(agent_id, presence, 0.0)


def own(state: RoutingState, conversation_id: str, agent_id: str, queue: str = SUPPORT) -> None:
    """``agent_id`` has accepted ``conversation_id``."""
    key = state.next_queue_key()
    state.enqueue(conversation_id, queue, key, 0.0)
    offer = state.waiting[conversation_id].offer_id
    if offer is None or state.offers[offer].agent_id != agent_id:
        state.restore_open(conversation_id, queue, agent_id, key)   # someone else was offered it: set directly
        if offer is not None:
            state.customer_left(conversation_id, 0.0)
            state.restore_open(conversation_id, queue, agent_id, key)
        return
    state.accept(agent_id, offer, 0.0)


def of(effects: Iterable[TransferEffect], kind: type) -> list:
    return [e for e in effects if isinstance(e, kind)]


def refusal(call: object) -> tuple[str, str | None]:
    assert callable(call)
    with pytest.raises(EngineError) as caught:
        call()
    return caught.value.code, caught.value.field


# ---- asking --------------------------------------------------------------------------------

def test_a_named_transfer_is_offered_and_reserves_room_with_the_target() -> None:
    state, desk = make()
    add_agent(state, "ann")
    add_agent(state, "bob")
    own(state, "c1", "ann")
    effects = desk.request("c1", "ann", agent_id="bob", queue=None, note="VIP", now=1.0)
    [offered] = of(effects, TransferOffered)
    assert (offered.target_id, offered.note, offered.first) == ("bob", "VIP", True)
    assert state.agents["bob"].load == 1 and state.agents["bob"].transfers == 1


def test_only_the_owner_transfers_and_never_to_itself_or_an_unknown_agent_or_queue() -> None:
    state, desk = make()
    add_agent(state, "ann")
    add_agent(state, "bob")
    add_agent(state, "cid")
    own(state, "c1", "ann")
    state.change_load("bob", 0.0, join="c1")          # bob was invited in
    assert refusal(lambda: desk.request("c1", "cid", agent_id="bob", queue=None, note=None, now=1.0)) == \
        ("not_found", "conversation_id")
    assert refusal(lambda: desk.request("c1", "bob", agent_id="cid", queue=None, note=None, now=1.0)) == \
        ("forbidden", "conversation_id")
    assert refusal(lambda: desk.request("c1", "ann", agent_id="ann", queue=None, note=None, now=1.0)) == \
        ("invalid_value", "agent_id")
    assert refusal(lambda: desk.request("c1", "ann", agent_id="zed", queue=None, note=None, now=1.0)) == \
        ("not_found", "agent_id")
    assert refusal(lambda: desk.request("c1", "ann", agent_id=None, queue="nope", note=None, now=1.0)) == \
        ("not_found", "queue")
    assert refusal(lambda: desk.request("nope", "ann", agent_id="bob", queue=None, note=None, now=1.0)) == \
        ("not_found", "conversation_id")
    assert desk.by_id == {}


@pytest.mark.parametrize("why", ["away", "offline", "full"])
def test_a_named_target_must_be_available_with_room(why: str) -> None:
    state, desk = make()
    add_agent(state, "ann")
    add_agent(state, "bob", capacity=1, presence=AWAY if why == "away" else "available")
    if why == "offline":
        state.agent_offline("bob", 0.0)
        assert state.agents["bob"].presence == OFFLINE
    own(state, "c1", "ann")
    if why == "full":
        own(state, "c2", "bob")
    assert refusal(lambda: desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0)) == \
        ("invalid_value", "agent_id")


def test_a_second_transfer_or_one_beside_an_invitation_is_invitation_pending() -> None:
    state, desk = make()
    invitations = InvitationDesk(state)
    for a in ("ann", "bob", "cid"):
        add_agent(state, a)
    own(state, "c1", "ann")
    own(state, "c2", "ann")
    desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0)
    assert refusal(lambda: desk.request("c1", "ann", agent_id="cid", queue=None, note=None, now=1.0))[0] == \
        "invitation_pending"
    with pytest.raises(EngineError) as caught:
        invitations.invite("c1", "ann", agent_id="cid", queue=None, now=1.0, busy="c1" in desk.by_conversation)
    assert caught.value.code == "invitation_pending"
    invitations.invite("c2", "ann", agent_id="cid", queue=None, now=1.0)
    assert refusal(lambda: desk.request("c2", "ann", agent_id="bob", queue=None, note=None, now=1.0,
                                        busy=lambda cid: cid in invitations.by_conversation))[0] == "invitation_pending"


# ---- answers ---------------------------------------------------------------------------------

def test_accepting_makes_the_target_owner_and_frees_the_previous_owner() -> None:
    state, desk = make()
    add_agent(state, "ann", capacity=1)
    add_agent(state, "bob")
    own(state, "c1", "ann")
    [offered] = of(desk.request("c1", "ann", agent_id="bob", queue=None, note="hi", now=1.0), TransferOffered)
    effects = desk.answer("bob", offered.transfer_id, True, 2.0)
    [closed] = of(effects, TransferClosed)
    [changed] = of(effects, OwnerChanged)
    assert effects.index(closed) < effects.index(changed)      # the close goes into the ownership write
    assert (closed.status, closed.final, closed.note) == ("accepted", True, "hi")
    assert (changed.previous_id, changed.agent_id) == ("ann", "bob")
    assert state.owner_of["c1"][0] == "bob" and state.participants("c1") == {"bob"}
    assert state.agents["bob"].open == {"c1"} and state.agents["bob"].load == 1
    assert state.agents["ann"].open == set() and state.agents["ann"].load == 0
    assert desk.by_id == {} and desk.by_conversation == {}


def test_the_freed_owner_is_offered_a_waiting_chat_at_once() -> None:
    state, desk = make()
    add_agent(state, "ann", capacity=1)
    add_agent(state, "bob", queues=(SALES,))
    own(state, "c1", "ann")
    state.enqueue("c2", SUPPORT, state.next_queue_key(), 1.0)          # waits: ann is full, bob not in support
    [offered] = of(desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0), TransferOffered)
    effects = desk.answer("bob", offered.transfer_id, True, 2.0)
    assert [(e.conversation_id, e.agent_id) for e in effects if isinstance(e, OfferMade)] == [("c2", "ann")]


def test_an_invited_target_moves_from_joined_to_owner() -> None:
    state, desk = make()
    add_agent(state, "ann")
    add_agent(state, "bob")
    own(state, "c1", "ann")
    state.change_load("bob", 0.0, join="c1")
    [offered] = of(desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0), TransferOffered)
    desk.answer("bob", offered.transfer_id, True, 2.0)
    assert state.agents["bob"].joined == set() and state.agents["bob"].open == {"c1"}
    assert state.joined_by.get("c1", set()) == set() and state.agents["bob"].load == 1


def test_declining_or_expiring_a_named_transfer_leaves_the_owner_in_charge() -> None:
    for answer in ("decline", "expire"):
        state, desk = make()
        add_agent(state, "ann")
        add_agent(state, "bob")
        own(state, "c1", "ann")
        [offered] = of(desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0), TransferOffered)
        effects = (desk.answer("bob", offered.transfer_id, False, 2.0) if answer == "decline"
                   else desk.expire(offered.transfer_id, "bob", 2.0))
        [closed] = of(effects, TransferClosed)
        assert (closed.status, closed.final) == ("declined" if answer == "decline" else "expired", True)
        assert state.owner_of["c1"][0] == "ann" and state.agents["bob"].load == 0
        assert desk.expire(offered.transfer_id, "bob", 3.0) == []         # a stale timer changes nothing


def test_an_answer_to_a_transfer_that_is_not_yours_is_offer_expired() -> None:
    state, desk = make()
    for a in ("ann", "bob", "cid"):
        add_agent(state, a)
    own(state, "c1", "ann")
    [offered] = of(desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0), TransferOffered)
    for agent, transfer_id in (("cid", offered.transfer_id), ("bob", "unknown")):
        with pytest.raises(EngineError) as caught:
            desk.answer(agent, transfer_id, True, 2.0)
        assert (caught.value.code, caught.value.ref) == ("offer_expired", transfer_id)


# ---- queues ----------------------------------------------------------------------------------

def test_a_queue_transfer_goes_to_the_best_free_member_never_the_owner() -> None:
    state, desk = make()
    add_agent(state, "ann", queues=(SUPPORT, SALES))
    add_agent(state, "bob", queues=(SALES,))
    own(state, "c1", "ann")
    [offered] = of(desk.request("c1", "ann", agent_id=None, queue=SALES, note=None, now=1.0), TransferOffered)
    assert offered.target_id == "bob" and offered.queue == SALES


def test_a_declined_queue_transfer_asks_the_next_member_then_ends_declined() -> None:
    state, desk = make()
    add_agent(state, "ann")
    add_agent(state, "bob", queues=(SALES,))
    add_agent(state, "cid", queues=(SALES,))
    own(state, "c1", "ann")
    [first] = of(desk.request("c1", "ann", agent_id=None, queue=SALES, note=None, now=1.0), TransferOffered)
    effects = desk.answer(first.target_id, first.transfer_id, False, 2.0)
    [turn] = of(effects, TransferClosed)
    [second] = of(effects, TransferOffered)
    assert not turn.final and second.target_id != first.target_id and not second.first
    [last] = of(desk.answer(second.target_id, second.transfer_id, False, 3.0), TransferClosed)
    assert (last.status, last.final) == ("declined", True)
    assert state.agents["bob"].load == state.agents["cid"].load == 0


def test_a_queue_transfer_nobody_can_take_waits_at_the_head_and_expires() -> None:
    state, desk = make()
    add_agent(state, "ann")
    own(state, "c1", "ann")
    [waiting] = of(desk.request("c1", "ann", agent_id=None, queue=SALES, note=None, now=1.0), TransferWaiting)
    assert [c.id for c in state.claims[SALES]] == [waiting.transfer_id]
    [closed] = of(desk.expire(waiting.transfer_id, None, 2.0), TransferClosed)
    assert (closed.status, closed.final, closed.target_id) == ("expired", True, None)
    assert SALES not in state.claims and desk.by_id == {}


def test_a_waiting_transfer_gets_the_next_free_member_before_the_waiting_chats() -> None:
    state, desk = make()
    add_agent(state, "ann")
    own(state, "c1", "ann")
    state.enqueue("c2", SALES, state.next_queue_key(), 0.5)          # a chat waited in sales before
    [waiting] = of(desk.request("c1", "ann", agent_id=None, queue=SALES, note=None, now=1.0), TransferWaiting)
    state.upsert_agent("bob", "Bob", frozenset({SALES}), 1)
    effects: list[Effect] = state.agent_connected("bob", "available", 2.0)
    assert not [e for e in effects if isinstance(e, OfferMade)]      # bob's one place went to the transfer
    served = [e for e in effects if isinstance(e, ClaimServed)]
    assert [(e.claim_id, e.agent_id) for e in served] == [(waiting.transfer_id, "bob")]
    [offered] = of(desk.claimed(waiting.transfer_id, "bob", 2.0), TransferOffered)
    assert offered.target_id == "bob" and desk.expire(waiting.transfer_id, None, 3.0) == []  # stale
    assert state.agents["bob"].load == 1
    effects = desk.answer("bob", offered.transfer_id, False, 3.0)
    # nobody else in sales: the transfer ends, and bob, free again, is offered the waiting chat
    assert [(e.conversation_id, e.agent_id) for e in effects if isinstance(e, OfferMade)] == [("c2", "bob")]


def test_a_waiting_claim_does_not_block_the_chats_of_its_queue_for_agents_it_may_not_go_to() -> None:
    state, desk = make()
    add_agent(state, "ann", queues=(SUPPORT, SALES), capacity=2)
    own(state, "c1", "ann")
    desk.request("c1", "ann", agent_id=None, queue=SALES, note=None, now=1.0)     # only ann is in sales
    effects = state.enqueue("c2", SALES, state.next_queue_key(), 2.0)
    assert [(e.conversation_id, e.agent_id) for e in effects if isinstance(e, OfferMade)] == [("c2", "ann")]


# ---- ends --------------------------------------------------------------------------------------

def test_the_end_of_the_conversation_or_its_owner_going_offline_cancels_the_transfer() -> None:
    for how in ("end", "owner_offline", "target_offline"):
        state, desk = make()
        add_agent(state, "ann")
        add_agent(state, "bob")
        own(state, "c1", "ann")
        desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0)
        if how == "end":
            effects = desk.cancel("c1", 2.0)
        else:
            effects = desk.agent_offline("ann" if how == "owner_offline" else "bob", 2.0)
        [closed] = of(effects, TransferClosed)
        assert closed.final and closed.stored_status == "expired"
        assert state.agents["bob"].load == 0 and desk.by_conversation == {}


def test_change_owner_is_one_decision_for_any_hand_over() -> None:
    state, _ = make()
    add_agent(state, "ann")
    add_agent(state, "bob")
    own(state, "c1", "ann")
    with pytest.raises(EngineError) as owner_already:
        state.change_owner("c1", "ann", 1.0)
    assert owner_already.value.code == "invalid_value"
    [changed] = [e for e in state.change_owner("c1", "bob", 1.0) if isinstance(e, OwnerChanged)]
    assert (changed.previous_id, changed.agent_id, changed.previous_stays) == ("ann", "bob", False)
    assert state.participants("c1") == {"bob"} and state.agents["ann"].load == 0
    with pytest.raises(EngineError) as unknown:
        state.change_owner("nope", "bob", 1.0)
    assert unknown.value.code == "not_found"


def test_a_take_over_keeps_the_previous_owner_in_as_invited() -> None:
    state, _ = make()
    add_agent(state, "ann")
    add_agent(state, "sue", queues=())
    own(state, "c1", "ann")
    [changed] = of(state.change_owner("c1", "sue", 1.0, previous_stays=True), OwnerChanged)
    assert changed.previous_stays
    assert state.owner_of["c1"][0] == "sue" and state.participants("c1") == {"ann", "sue"}
    assert state.agents["ann"].joined == {"c1"} and state.agents["ann"].open == set()
    assert state.agents["ann"].load == 1        # an invited chat still counts


def test_change_owner_of_a_waiting_chat_assigns_it_and_revokes_its_offer() -> None:
    state, _ = make()
    add_agent(state, "ann")
    add_agent(state, "bob", presence=AWAY)
    state.enqueue("c1", SUPPORT, state.next_queue_key(), 0.0)
    assert state.waiting["c1"].offer_id is not None         # offered to ann
    effects = state.change_owner("c1", "bob", 1.0)
    assert [e.agent_id for e in of(effects, Assigned)] == ["bob"]
    assert "c1" not in state.waiting and state.owner_of["c1"][0] == "bob"
    assert state.agents["ann"].offers == set()


def test_a_supervisors_new_owner_cancels_the_pending_transfer_with_its_reason() -> None:
    state, desk = make()
    add_agent(state, "ann")
    add_agent(state, "bob")
    own(state, "c1", "ann")
    desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=1.0)
    assert state.agents["bob"].load == 1
    [closed] = of(desk.cancel("c1", 2.0, "owner_changed"), TransferClosed)
    assert (closed.final, closed.stored_status, closed.reason, closed.target_id) == (True, "expired",
                                                                                     "owner_changed", "bob")
    assert state.agents["bob"].load == 0 and desk.by_conversation == {}


# ---- a restart or a rebuild of the Router ------------------------------------------------------

def restarted(*agents: tuple[str, tuple[str, ...]]) -> tuple[RoutingState, TransferDesk]:
    """The state as a start rebuilds it: agents known but not connected, ann owns c1."""
    state, desk = make()
    for agent_id, queues in agents:
        state.upsert_agent(agent_id, agent_id.title(), frozenset(queues), 3)
    state.restore_open("c1", SUPPORT, "ann", 1)
    return state, desk


def test_a_restored_named_transfer_reserves_room_blocks_a_second_one_and_can_be_accepted() -> None:
    state, desk = restarted(("ann", (SUPPORT,)), ("bob", (SUPPORT,)))
    effects = desk.restore("t1", "c1", "ann", agent_id="bob", queue=None, note="VIP", target_id="bob",
                           asked=("bob",), now=1.0)
    assert effects == [] and state.agents["bob"].transfers == 1
    add_agent(state, "ann")
    add_agent(state, "bob")
    assert refusal(lambda: desk.request("c1", "ann", agent_id="bob", queue=None, note=None, now=2.0))[0] == \
        "invitation_pending"
    effects = desk.answer("bob", "t1", True, 3.0)
    [closed] = of(effects, TransferClosed)
    assert (closed.status, closed.note, closed.from_id) == ("accepted", "VIP", "ann")
    assert state.owner_of["c1"][0] == "bob" and state.agents["bob"].transfers == 0


def test_a_restored_queue_transfer_waits_at_the_head_and_never_asks_an_agent_asked_before() -> None:
    state, desk = restarted(("ann", (SUPPORT,)), ("bob", (SALES,)), ("cid", (SALES,)))
    assert desk.restore("t1", "c1", "ann", agent_id=None, queue=SALES, note=None, target_id=None,
                        asked=("bob",), now=1.0) == []
    assert [c.id for c in state.claims[SALES]] == ["t1"]
    assert not [e for e in state.agent_connected("bob", "available", 2.0) if isinstance(e, ClaimServed)]
    served = [e for e in state.agent_connected("cid", "available", 2.0) if isinstance(e, ClaimServed)]
    assert [(e.claim_id, e.agent_id) for e in served] == [("t1", "cid")]
    [offered] = of(desk.claimed("t1", "cid", 2.0), TransferOffered)
    assert (offered.target_id, offered.first) == ("cid", False)
    [closed] = of(desk.answer("cid", "t1", False, 3.0), TransferClosed)     # nobody else: over
    assert (closed.status, closed.final) == ("declined", True)


def test_a_transfer_whose_owner_lost_the_chat_or_whose_target_is_gone_is_not_restored() -> None:
    state, desk = restarted(("ann", (SUPPORT,)), ("bob", (SUPPORT,)))
    cases = [("c1", "bob", "zed"),      # the agent asked is gone (disabled)
             ("c1", "bob", "bob"),      # bob does not own c1
             ("c9", "ann", "bob")]      # c9 is not running
    for cid, owner, target in cases:
        assert desk.restore("t1", cid, owner, agent_id=target, queue=None, note=None, target_id=target,
                            asked=(target,), now=1.0) is None
    assert desk.restore("t2", "c1", "ann", agent_id=None, queue="gone", note=None, target_id=None, asked=(),
                        now=1.0) is None
    assert desk.by_id == {} and state.agents["bob"].transfers == 0
    # one pending transfer per conversation, also when the database held two
    assert desk.restore("t3", "c1", "ann", agent_id="bob", queue=None, note=None, target_id="bob", asked=("bob",),
                        now=1.0) == []
    assert desk.restore("t4", "c1", "ann", agent_id=None, queue=SALES, note=None, target_id=None, asked=(),
                        now=1.0) is None
