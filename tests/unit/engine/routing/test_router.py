"""The Router actor (engine/routing/router.py) under trio's MockClock: offer timers, expiry, auto-away.

A unit test of one actor: its handles are small doubles (``persister.post``, the conversations
and the agents it reaches) beside the engine's real timer service, so the frames an agent would
get and the statements the Persister would commit can be read directly.
Time moves only when a test jumps the clock; ``settle()`` lets every task run until blocked.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
import trio
from trio.testing import MockClock, wait_all_tasks_blocked

from frontdesk.engine.routing.commands import (
    AcceptOffer,
    AgentDisconnected,
    AgentOffline,
    AgentOnline,
    AgentProfile,
    AgentSnapshot,
    ConversationClosed,
    Enqueue,
    RejectOffer,
    TakeSnapshot,
)
from frontdesk.engine.routing.decisions import AVAILABLE, AWAY
from frontdesk.engine.routing.router import POSITION_TICK_S, Router
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.runtime.timers import Timers

OFFER_TIMEOUT_MS = 2000
OFFER_TIMEOUT_S = OFFER_TIMEOUT_MS / 1000
QUEUE = "support"
ANN = str(uuid.UUID(int=0xA))   # ids sort: ann before bob, so ann wins ties
BOB = str(uuid.UUID(int=0xB))


class FakePersister:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def post(self, statements: Sequence[tuple[str, tuple[Any, ...]]], key: str | None = None) -> None:
        self.statements.extend(statements)


class FakeConversation:
    """Records what the Router tells a Conversation actor; stores what an assignment carries, as the
    Conversation does in the assignment's write."""

    def __init__(self, persister: FakePersister) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._persister = persister

    def post_assign(self, agent_id: str, name: str, also: Sequence[tuple[str, tuple[Any, ...]]] = ()) -> None:
        self.calls.append(("assign", agent_id, name))
        self._persister.statements.extend(also)

    def post_requeue(self, agent_id: str, queue_key: int, position: int) -> None:
        self.calls.append(("requeue", agent_id, position))

    def post_position(self, position: int, estimate: int | None = None) -> None:
        self.calls.append(("position", position))

    def post_agent_gone(self, agent_id: str) -> None:
        self.calls.append(("agent_gone", agent_id))

    def post_join(self, agent_id: str, name: str) -> None:
        self.calls.append(("join", agent_id))


class FakeSession:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def deliver(self, frame: str) -> None:
        self.frames.append(orjson.loads(frame))


class FakeAgent:
    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self._frames = frames

    def deliver(self, frame: str, conversation_id: str | None = None, ack: Any = None) -> None:
        self._frames.append(orjson.loads(frame))


class Surroundings:
    """What the Router reaches: the Persister, the Conversations, every agent (signed in or not)."""

    def __init__(self) -> None:
        self.persister = FakePersister()
        self.conversations: dict[str, FakeConversation] = {}
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def get(self, agent_id: str) -> FakeAgent:
        return FakeAgent(self.frames[agent_id])

    def of(self, agent_id: str, type_: str) -> list[dict[str, Any]]:
        return [f for f in self.frames[agent_id] if f["type"] == type_]

    def types(self, agent_id: str) -> list[str]:
        return [f["type"] for f in self.frames[agent_id]]

    def offer_outcomes(self, offer_id: str) -> list[str]:
        """The outcomes the Router stored for ``offer_id``, in order."""
        return [params[1] for sql, params in self.persister.statements
                if sql.startswith("UPDATE offers") and params[0] == uuid.UUID(offer_id)]

    def presence_log(self, agent_id: str) -> list[tuple[str, str]]:
        return [(params[1], params[2]) for sql, params in self.persister.statements
                if "presence_log" in sql and params[0] == uuid.UUID(agent_id)]


@asynccontextmanager
async def running_router(**overrides: Any) -> AsyncIterator[tuple[Router, Surroundings]]:
    config = Config(offer_timeout_ms=OFFER_TIMEOUT_MS, missed_offers_away=2).with_overrides(**overrides)
    directory = Surroundings()
    timers = Timers()
    router = Router(offer_timeout_s=config.offer_timeout_s, missed_offers_away=config.missed_offers_away,
                    persister=directory.persister,  # type: ignore[arg-type]  # the doubles have what it uses
                    timers=timers, conversations=directory.conversations, agents=directory)
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        await nursery.start(router.run)
        yield router, directory
        nursery.cancel_scope.cancel()


async def settle() -> None:
    await wait_all_tasks_blocked()


async def online(router: Router, agent_id: str, capacity: int = 1, presence: str = AVAILABLE) -> AgentSnapshot:
    name = "Ann" if agent_id == ANN else "Bob"
    profile = AgentProfile(agent_id, name, frozenset({QUEUE}), capacity)
    snapshot: AgentSnapshot = await router.call(lambda reply: AgentOnline(profile, presence, reply))
    return snapshot


async def new_chat(router: Router, directory: Surroundings) -> str:
    cid = str(uuid.uuid4())
    directory.conversations[cid] = FakeConversation(directory.persister)
    info = {"customer": {"name": "Cora", "email": "cora@example.com", "verified": []}, "question": "Hello?"}
    position: int = await router.call(lambda reply: Enqueue(cid, QUEUE, info, None, reply))
    assert position >= 1
    await settle()
    return cid


def only(frames: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(frames) == 1, frames
    return frames[0]


# ---- offer timers ------------------------------------------------------------------------------

async def test_unanswered_offer_expires_after_exactly_offer_timeout(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN)
        await online(router, BOB)
        start = trio.current_time()
        cid = await new_chat(router, d)
        offer = only(d.of(ANN, "offer"))
        assert offer["conversation_id"] == cid and offer["queue"] == QUEUE
        assert offer["customer"]["name"] == "Cora" and offer["question"] == "Hello?"
        assert d.of(BOB, "offer") == []

        mock_clock.jump(OFFER_TIMEOUT_S - 0.001)
        await settle()
        assert d.of(ANN, "offer_revoked") == []
        assert d.of(BOB, "offer") == []
        assert d.offer_outcomes(offer["offer_id"]) == []

        mock_clock.jump(0.001)
        await settle()
        assert trio.current_time() - start == OFFER_TIMEOUT_S
        assert d.of(ANN, "offer_revoked") == [{"type": "offer_revoked", "offer_id": offer["offer_id"],
                                               "conversation_id": cid, "reason": "expired"}]
        assert d.offer_outcomes(offer["offer_id"]) == ["expired"]
        # the next agent gets it at once, without any more time passing
        second = only(d.of(BOB, "offer"))
        assert second["conversation_id"] == cid and second["offer_id"] != offer["offer_id"]
        # and ann never gets it back
        mock_clock.jump(OFFER_TIMEOUT_S * 3)
        await settle()
        assert d.types(ANN) == ["offer", "offer_revoked"]


async def test_two_expiries_in_a_row_set_the_agent_away(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN, capacity=1)
        c1 = await new_chat(router, d)
        mock_clock.jump(OFFER_TIMEOUT_S)
        await settle()
        assert d.types(ANN) == ["offer", "offer_revoked"]   # one miss: still available
        assert router.state.agents[ANN].presence == AVAILABLE

        c2 = await new_chat(router, d)                       # ann may take c2 (she only let c1 go)
        assert d.of(ANN, "offer")[-1]["conversation_id"] == c2
        mock_clock.jump(OFFER_TIMEOUT_S - 0.001)
        await settle()
        assert d.of(ANN, "presence") == []
        mock_clock.jump(0.001)
        await settle()

        assert d.types(ANN) == ["offer", "offer_revoked", "offer", "offer_revoked", "presence"]
        assert d.of(ANN, "presence") == [{"type": "presence", "state": "away"}]
        assert d.presence_log(ANN) == [("available", "system"), ("away", "system")]   # signed in, then away
        assert not [s for s, _ in d.persister.statements if s.startswith("UPDATE staff")]  # not her choice
        assert router.state.agents[ANN].presence == AWAY
        assert router.state.position(c1) == 1 and router.state.position(c2) == 2

        mock_clock.jump(OFFER_TIMEOUT_S * 5)                 # away: no more offers
        await settle()
        assert len(d.of(ANN, "offer")) == 2


async def test_accepted_offer_timer_is_cancelled(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN, capacity=2)
        cid = await new_chat(router, d)
        offer = only(d.of(ANN, "offer"))
        mock_clock.jump(OFFER_TIMEOUT_S / 2)
        await settle()
        session = FakeSession()
        await router.send(AcceptOffer(ANN, offer["offer_id"], session))
        await settle()
        assert session.frames == []
        assert ("assign", ANN, "Ann") in d.conversations[cid].calls
        assert router.state.owner_of[cid][0] == ANN

        mock_clock.jump(OFFER_TIMEOUT_S * 10)
        await settle()
        assert d.of(ANN, "offer_revoked") == []
        assert d.offer_outcomes(offer["offer_id"]) == ["accepted"]
        assert router.state.agents[ANN].missed_in_row == 0
        assert len(router._timers) == 0                      # the offer's timer is gone


async def test_rejected_offer_goes_to_next_agent_at_once_and_its_timer_stops(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN)
        await online(router, BOB)
        cid = await new_chat(router, d)
        offer = only(d.of(ANN, "offer"))
        mock_clock.jump(0.5)
        await settle()
        await router.send(RejectOffer(ANN, offer["offer_id"], "busy", FakeSession()))
        await settle()
        assert only(d.of(BOB, "offer"))["conversation_id"] == cid
        assert d.offer_outcomes(offer["offer_id"]) == ["rejected"]

        # ann's timer would have fired at 2.0, bob's fires at 2.5
        mock_clock.jump(OFFER_TIMEOUT_S - 0.001)
        await settle()
        assert d.types(ANN) == ["offer"]
        assert d.of(BOB, "offer_revoked") == []
        mock_clock.jump(0.001)
        await settle()
        assert only(d.of(BOB, "offer_revoked"))["reason"] == "expired"
        assert d.types(ANN) == ["offer"]                     # she rejected it: never offered again


async def test_stale_accept_is_answered_offer_expired(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN)
        await new_chat(router, d)
        offer = only(d.of(ANN, "offer"))
        mock_clock.jump(OFFER_TIMEOUT_S)
        await settle()
        session = FakeSession()
        await router.send(AcceptOffer(ANN, offer["offer_id"], session))
        await settle()
        error = only(session.frames)
        assert error["type"] == "error" and error["code"] == "offer_expired" and error["ref"] == offer["offer_id"]
        # the Router goes on
        await new_chat(router, d)
        assert len(d.of(ANN, "offer")) == 2


async def test_customer_leaving_revokes_offer_and_stops_its_timer(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN)
        cid = await new_chat(router, d)
        offer = only(d.of(ANN, "offer"))
        await router.send(ConversationClosed(cid))
        await settle()
        assert d.of(ANN, "offer_revoked") == [{"type": "offer_revoked", "offer_id": offer["offer_id"],
                                               "conversation_id": cid, "reason": "customer_left"}]
        mock_clock.jump(OFFER_TIMEOUT_S * 2)
        await settle()
        assert d.offer_outcomes(offer["offer_id"]) == ["revoked"]
        assert router.state.agents[ANN].missed_in_row == 0


# ---- agents coming and going -----------------------------------------------------------------

async def test_socket_back_within_grace_gets_offers_again(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN)
        await router.send(AgentDisconnected(ANN))
        await settle()
        cid = await new_chat(router, d)
        assert d.of(ANN, "offer") == []                      # no socket, no offer

        snapshot: AgentSnapshot = await router.call(lambda reply: TakeSnapshot(ANN, reply))
        await settle()
        assert snapshot.presence == AVAILABLE
        assert [o["conversation_id"] for o in snapshot.offers] == [cid]
        assert only(d.of(ANN, "offer"))["conversation_id"] == cid


async def test_agent_offline_revokes_offers_and_requeues_its_conversations(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN, capacity=2)
        c1 = await new_chat(router, d)
        await router.send(AcceptOffer(ANN, only(d.of(ANN, "offer"))["offer_id"], FakeSession()))
        await settle()
        c2 = await new_chat(router, d)
        pending = d.of(ANN, "offer")[-1]
        assert pending["conversation_id"] == c2

        await router.send(AgentDisconnected(ANN))
        await router.send(AgentOffline(ANN))
        await settle()
        assert d.of(ANN, "offer_revoked") == [{"type": "offer_revoked", "offer_id": pending["offer_id"],
                                               "conversation_id": c2, "reason": "agent_unavailable"}]
        assert ("requeue", ANN, 1) in d.conversations[c1].calls
        assert router.state.positions(QUEUE) == [(c1, 1), (c2, 2)]

        await online(router, BOB, capacity=1)
        await settle()
        assert only(d.of(BOB, "offer"))["conversation_id"] == c1   # the requeued one first
        mock_clock.jump(OFFER_TIMEOUT_S * 3)                       # a revoked offer's timer never fires
        await settle()
        assert d.offer_outcomes(pending["offer_id"]) == ["revoked"]


async def test_signing_in_and_going_offline_enter_the_presence_log() -> None:
    async with running_router() as (router, d):
        await online(router, ANN, presence=AWAY)
        await router.send(AgentDisconnected(ANN))
        await router.send(AgentOffline(ANN))
        await settle()
        await online(router, ANN)
        await settle()
        assert d.presence_log(ANN) == [("away", "system"), ("offline", "system"), ("available", "system")]
        assert d.of(ANN, "presence") == []      # the agent chose nothing: no presence frame


# ---- the tick -----------------------------------------------------------------------------------

def ticks() -> float:
    return metrics.REGISTRY.get_sample_value("frontdesk_router_ticks_total") or 0.0


async def test_the_tick_follows_changes_and_an_idle_router_does_nothing(mock_clock: MockClock) -> None:
    async with running_router() as (router, d):
        await online(router, ANN)
        await settle()
        before = ticks()
        mock_clock.jump(POSITION_TICK_S)
        await settle()
        assert ticks() == before + 1
        assert any("agent_status" in sql for sql, _params in d.persister.statements)
        for _ in range(20):         # ten idle seconds: no tick at all
            mock_clock.jump(POSITION_TICK_S)
            await settle()
        assert ticks() == before + 1
        await new_chat(router, d)   # a change: one tick, at most POSITION_TICK_S later
        mock_clock.jump(POSITION_TICK_S)
        await settle()
        assert ticks() == before + 2
