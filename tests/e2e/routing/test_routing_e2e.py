"""Routing end to end (PROTOCOL.md §5.4–5.6), over real HTTP and websockets.

Engine settings of the ``engine`` fixture: offer timeout 2 s, reconnect grace 1.5 s, two missed
offers in a row set an agent away. Demo queues: support = agent1..3, sales = agent3..4.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import trio
from conftest import Client, Engine, accept_next, agent, connect

QUIET_S = 0.7  # how long "nothing arrives" is watched (well above the 50 ms work-conservation bound)
PROMPT_S = 0.8  # "at once": the protocol's bound is 50 ms; the margin is for a loaded 2-core test machine


async def post_chat(engine: Engine, queue: str = "support", **extra: Any) -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/chats", json={"queue": queue, "name": "Cora Customer",
                                                   "email": "cora@example.com", "question": "Help?", **extra})


async def queue_state(engine: Engine, queue: str) -> dict[str, Any]:
    async with engine.http() as http:
        r = await http.get(f"/api/queues/{queue}")
        assert r.status_code == 200, r.text
        return dict(r.json())


async def quiet(seconds: float, *clients: Client) -> list[list[dict[str, Any]]]:
    """Everything each client receives within ``seconds`` (drained concurrently)."""
    out: list[list[dict[str, Any]]] = [[] for _ in clients]

    async def one(i: int, c: Client) -> None:
        out[i] = await c.drain(seconds)

    async with trio.open_nursery() as nursery:
        for i, c in enumerate(clients):
            nursery.start_soon(one, i, c)
    return out


def offers(frames: list[dict[str, Any]], conversation_id: str | None = None) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "offer"
            and (conversation_id is None or f["conversation_id"] == conversation_id)]


# ---- rejections and expiries -------------------------------------------------------------------

async def test_rejected_offer_goes_to_the_other_agent_and_never_back_to_the_rejecter(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        first = await a1.expect("offer", conversation_id=cid)
        async with agent(engine, 2) as a2:
            await a1.send({"type": "reject", "offer_id": first["offer_id"], "reason": "busy"})
            second = await a2.expect("offer", conversation_id=cid, timeout=2)
            assert second["offer_id"] != first["offer_id"]
            await a2.send({"type": "reject", "offer_id": second["offer_id"]})
            seen1, seen2 = await quiet(QUIET_S, a1, a2)
            assert offers(seen1, cid) == [] and offers(seen2, cid) == []
            assert (await queue_state(engine, "support"))["waiting"] == 1
            async with agent(engine, 3) as a3:
                third = await a3.expect("offer", conversation_id=cid, timeout=2)
                await a3.send({"type": "accept", "offer_id": third["offer_id"]})
                conv = await a3.expect("conversation", conversation_id=cid)
                assert conv["messages"][0]["text"] == "Where is my order?"
            seen1, seen2 = await quiet(0.2, a1, a2)
            assert offers(seen1, cid) == [] and offers(seen2, cid) == []


def stored_offers(database_url: str, conversation_id: str) -> list[tuple[str, str | None, str | None]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT o.outcome, o.agent_id::text, c.owner_id::text FROM offers o "
                            "JOIN conversations c ON c.id = o.conversation_id WHERE o.conversation_id = %s "
                            "ORDER BY o.created_at", (conversation_id,)).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


async def test_an_accepted_offer_is_stored_closed_with_the_assignment(engine: Engine) -> None:
    """The Router hands the accepted offer's close to the Conversation, which stores it in the
    assignment's write: by the time the agent has its ``conversation``, both are committed."""
    async with agent(engine, 1) as a1:
        cid = (await engine.start_chat())["conversation_id"]
        offer = await a1.expect("offer", conversation_id=cid)
        await a1.send({"type": "accept", "offer_id": offer["offer_id"]})
        await a1.expect("conversation", conversation_id=cid)
        owner = a1.info["agent"]["id"]
        assert await trio.to_thread.run_sync(stored_offers, engine.config.database_url, cid) == [
            ("accepted", owner, owner)]


async def test_unanswered_offer_expires_and_goes_to_the_next_agent_at_once(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        first = await a1.expect("offer", conversation_id=cid)
        async with agent(engine, 2) as a2:
            revoked = await a1.expect("offer_revoked", offer_id=first["offer_id"], timeout=4)
            received = trio.current_time()
            assert revoked["reason"] == "expired" and revoked["conversation_id"] == cid
            second = await a2.expect("offer", conversation_id=cid, timeout=2)
            assert trio.current_time() - received < PROMPT_S
            assert second["offer_id"] != first["offer_id"]
            # the expired offer can no longer be taken
            await a1.send({"type": "accept", "offer_id": first["offer_id"]})
            err = await a1.expect("error", ref=first["offer_id"])
            assert err["code"] == "offer_expired"


async def test_two_expired_offers_in_a_row_set_the_agent_away(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        cids = [(await engine.start_chat())["conversation_id"] for _ in range(2)]
        got = [await a1.expect("offer", conversation_id=cid) for cid in cids]
        for offer in got:
            revoked = await a1.expect("offer_revoked", offer_id=offer["offer_id"], timeout=4)
            assert revoked["reason"] == "expired"
        await a1.expect("presence", state="away", timeout=2)
        # still online (away), so new chats are accepted into the queue, but none is offered to it
        third = await engine.start_chat()
        (seen,) = await quiet(QUIET_S, a1)
        assert offers(seen) == []
        state = await queue_state(engine, "support")
        assert state["agents_online"] == 1 and state["waiting"] == 3
        # choosing available again resumes offers, never of the chats it let expire
        await a1.send({"type": "presence", "state": "available"})
        await a1.expect("presence", state="available")
        await a1.expect("offer", conversation_id=third["conversation_id"], timeout=2)
        (seen,) = await quiet(0.3, a1)
        assert [o["conversation_id"] for o in offers(seen)] == []


# ---- capacity ----------------------------------------------------------------------------------

async def test_agent_holds_at_most_its_capacity_and_gets_the_next_chat_when_one_ends(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        assert a1.info["capacity"] == 3
        cids = [(await engine.start_chat())["conversation_id"] for _ in range(3)]
        for cid in cids:
            await accept_next(a1, cid)
        fourth = await engine.start_chat()
        assert fourth["position"] == 1
        (seen,) = await quiet(QUIET_S, a1)
        assert offers(seen) == []
        await a1.send({"type": "end", "conversation_id": cids[0]})
        await a1.expect("ended", conversation_id=cids[0])
        ended_at = trio.current_time()
        await a1.expect("offer", conversation_id=fourth["conversation_id"], timeout=2)
        assert trio.current_time() - ended_at < PROMPT_S


async def test_pending_offers_count_toward_capacity(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        cids = [(await engine.start_chat())["conversation_id"] for _ in range(3)]
        await accept_next(a1, cids[0])
        await accept_next(a1, cids[1])
        pending = await a1.expect("offer", conversation_id=cids[2])
        fourth = await engine.start_chat()
        (seen,) = await quiet(0.5, a1)  # well before the pending offer expires (2 s)
        assert offers(seen) == [] and not [f for f in seen if f["type"] == "offer_revoked"]
        await a1.send({"type": "reject", "offer_id": pending["offer_id"]})
        await a1.expect("offer", conversation_id=fourth["conversation_id"], timeout=2)
        (seen,) = await quiet(0.3, a1)
        assert offers(seen, cids[2]) == []


# ---- first come, first served -------------------------------------------------------------------

async def test_waiting_chats_are_offered_in_arrival_order_and_an_excluded_chat_blocks_nobody(
        engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1:
        first = (await engine.start_chat(question="first"))["conversation_id"]
        second = (await engine.start_chat(question="second"))["conversation_id"]
        await a1.send({"type": "presence", "state": "available"})
        offer_first = await a1.expect("offer", conversation_id=first, timeout=2)
        offer_second = await a1.expect("offer", conversation_id=second, timeout=2)
        arrival = [f.get("offer_id") for f in a1.seen if f["type"] == "offer"]
        assert arrival == [offer_first["offer_id"], offer_second["offer_id"]]
        await a1.send({"type": "reject", "offer_id": offer_first["offer_id"]})
        # the rejected chat keeps its place at the head, yet the chat behind it is served
        third = await engine.start_chat(question="third")
        assert third["position"] == 3
        await a1.expect("offer", conversation_id=third["conversation_id"], timeout=2)
        async with agent(engine, 2) as a2:
            got = await a2.expect("offer", timeout=2)
            assert got["conversation_id"] == first


async def test_a_chat_waiting_in_one_queue_does_not_block_another_queue(engine: Engine) -> None:
    async with agent(engine, 3) as a3:
        support = await engine.start_chat(queue="support")
        offer = await a3.expect("offer", conversation_id=support["conversation_id"])
        await a3.send({"type": "reject", "offer_id": offer["offer_id"]})
        sales = await engine.start_chat(queue="sales")
        assert sales["position"] == 1
        await a3.expect("offer", conversation_id=sales["conversation_id"], timeout=2)
        assert (await queue_state(engine, "support"))["waiting"] == 1
        async with agent(engine, 4) as a4:
            (seen,) = await quiet(QUIET_S, a4)
            assert offers(seen) == []  # agent4 is not a member of support
        async with agent(engine, 1) as a1:
            await a1.expect("offer", conversation_id=support["conversation_id"], timeout=2)


async def test_queued_customer_hears_its_position_and_when_it_moves_up(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1:
        ahead = await engine.start_chat()
        behind = await engine.start_chat()
        assert (ahead["position"], behind["position"]) == (1, 2)
        async with connect(engine, behind["customer_token"], "customer") as cu:
            assert cu.info["conversation"]["status"] == "queued"
            queued = await cu.expect("queued", conversation_id=behind["conversation_id"])
            assert queued["position"] == 2
            await a1.send({"type": "presence", "state": "available"})
            await accept_next(a1, ahead["conversation_id"])
            moved = await cu.expect("queued", timeout=2)
            assert moved["position"] == 1 and moved["conversation_id"] == behind["conversation_id"]


# ---- presence and online -----------------------------------------------------------------------

async def test_chat_is_refused_with_no_agents_when_nobody_is_online(engine: Engine) -> None:
    r = await post_chat(engine)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "closed" and body["reason"] == "no_agents" and body["offline_requests"] is True
    assert "conversation_id" not in body
    assert (await queue_state(engine, "support"))["waiting"] == 0


async def test_away_agent_counts_as_online_but_gets_no_offers(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1:
        assert (await queue_state(engine, "support"))["agents_online"] == 1
        r = await post_chat(engine)
        assert r.status_code == 201 and r.json()["status"] == "queued"
        (seen,) = await quiet(QUIET_S, a1)
        assert offers(seen) == []
        assert (await queue_state(engine, "support"))["waiting"] == 1


async def test_chosen_away_presence_survives_a_new_sign_in(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        await a1.send({"type": "presence", "state": "away"})
        await a1.expect("presence", state="away")
    async with connect(engine, chat["customer_token"], "customer") as cu:
        # the requeue shows that agent1's grace is over: it is offline, its next hello is a new sign-in
        await cu.expect("requeued", conversation_id=cid, timeout=4)
        info = await engine.login("agent1@demo.test")
        async with connect(engine, info["token"], "agent1-again") as a1:
            assert a1.info["presence"] == "away" and a1.info["conversations"] == []
            assert (await queue_state(engine, "support"))["agents_online"] == 1
            second = await engine.start_chat()  # away is online: the chat is accepted
            assert second["position"] == 2
            (seen,) = await quiet(QUIET_S, a1)
            assert offers(seen) == []
            await a1.send({"type": "presence", "state": "available"})
            await a1.expect("offer", conversation_id=cid, timeout=2)
            await a1.expect("offer", conversation_id=second["conversation_id"], timeout=2)


async def test_offer_follows_within_a_second_of_an_agent_becoming_available(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await a1.send({"type": "presence", "state": "available"})
        sent = trio.current_time()
        offer = await a1.expect("offer", conversation_id=cid, timeout=2)
        assert trio.current_time() - sent < PROMPT_S
        await a1.send({"type": "reject", "offer_id": offer["offer_id"]})
        async with agent(engine, 2) as a2:  # signing in makes an agent available too
            welcomed = trio.current_time()
            await a2.expect("offer", conversation_id=cid, timeout=2)
            assert trio.current_time() - welcomed < PROMPT_S


# ---- disconnects -------------------------------------------------------------------------------

async def test_reconnecting_agent_welcome_lists_open_conversations_and_pending_offers(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        token = a1.token
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        async with connect(engine, chat["customer_token"], "customer") as cu:
            ack = await cu.send_text(None, "are you there?")
            assert ack["seq"] == 2
            await a1.expect("message", seq=2)
            waiting = await engine.start_chat()
            pending = await a1.expect("offer", conversation_id=waiting["conversation_id"])
    async with connect(engine, token, "agent1-again") as again:
        w = again.info
        assert w["role"] == "agent" and w["presence"] == "available"
        assert [(c["conversation_id"], c["last_seq"], c["status"]) for c in w["conversations"]] == [(cid, 2, "active")]
        assert [o["offer_id"] for o in w["offers"]] == [pending["offer_id"]]
        assert w["offers"][0]["conversation_id"] == waiting["conversation_id"]
        await again.send({"type": "accept", "offer_id": pending["offer_id"]})
        await again.expect("conversation", conversation_id=waiting["conversation_id"])


async def test_agent_reconnecting_within_grace_keeps_its_conversation_and_gets_new_offers(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        token = a1.token
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
    async with connect(engine, chat["customer_token"], "customer") as cu:
        async with connect(engine, token, "agent1-again") as again:
            assert [c["conversation_id"] for c in again.info["conversations"]] == [cid]
            (seen,) = await quiet(2.0, cu)  # past the end of the first grace (1.5 s)
            assert not [f for f in seen if f["type"] in ("requeued", "participant_left")]
            ack = await cu.send_text(None, "still here")
            await again.expect("message", seq=ack["seq"])
            # back online: new work is offered to it again
            second = await engine.start_chat()
            await again.expect("offer", conversation_id=second["conversation_id"], timeout=2)


async def test_agent_gone_beyond_grace_has_its_conversation_requeued_to_another_agent(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
    async with connect(engine, chat["customer_token"], "customer") as cu, agent(engine, 2) as a2:
        left = await cu.expect("participant_left", conversation_id=cid, timeout=4)
        assert left["agent"]["name"] == "Agent One" and left["role"] == "owner"
        requeued = await cu.expect("requeued", conversation_id=cid, timeout=2)
        assert requeued["position"] == 1
        conv = await accept_next(a2, cid)
        assert conv["messages"][0]["seq"] == 1
        joined = await cu.expect("participant_joined", conversation_id=cid)
        assert joined["agent"]["name"] == "Agent Two"


async def test_customer_ending_a_waiting_chat_revokes_its_pending_offer(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        offer = await a1.expect("offer", conversation_id=cid)
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await cu.send({"type": "end"})
            ended = await cu.expect("ended", conversation_id=cid)
            assert ended["by"] == "customer"
        revoked = await a1.expect("offer_revoked", offer_id=offer["offer_id"], timeout=2)
        assert revoked["reason"] == "customer_left" and revoked["conversation_id"] == cid
        await a1.send({"type": "accept", "offer_id": offer["offer_id"]})
        err = await a1.expect("error", ref=offer["offer_id"])
        assert err["code"] == "offer_expired"
        assert (await queue_state(engine, "support"))["waiting"] == 0
