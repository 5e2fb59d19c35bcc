"""Crash recovery (PROTOCOL.md §5.2 and §5.10): the engine runs as a ``frontdesk serve`` subprocess,
is killed with SIGKILL and started again on the same database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Engine, Postgres, accept_next, agent, connect
from customers.accountkit import psql, psql_until
from engine_process import EngineProcess


@pytest.fixture
async def engine_process(postgres: Postgres, tmp_path: Path) -> AsyncIterator[EngineProcess]:
    p = EngineProcess(postgres.fresh(), tmp_path / "data", tmp_path / "engine.log")
    await p.start()
    try:
        yield p
    finally:
        p.kill()


def offers_in(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "offer"]


async def transcript(engine: Engine, conversation_id: str, token: str) -> list[dict[str, Any]]:
    async with engine.http() as http:
        r = await http.get(f"/api/conversations/{conversation_id}/transcript",
                           headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return list(r.json()["messages"])


async def test_acked_messages_survive_kill_9_and_a_retried_client_id_is_stored_once(
        engine_process: EngineProcess) -> None:
    engine = engine_process.engine
    async with agent(engine, 1, presence="away"):  # online, so the chat is accepted into the queue
        chat = await engine.start_chat(question="first question")
    cid, token = chat["conversation_id"], chat["customer_token"]
    sent = [(uuid.uuid4().hex, f"message {i}") for i in range(50)]
    async with connect(engine, token, "customer") as cu:
        for client_id, text in sent[:20]:
            await cu.send({"type": "send", "client_id": client_id, "text": text})
            await cu.expect("ack", client_id=client_id)
        for client_id, text in sent[20:]:
            await cu.send({"type": "send", "client_id": client_id, "text": text})
        engine_process.kill()  # mid-stream: 30 sends in flight
        assert await cu.closed_code(timeout=5) is not None
        acked = {f["client_id"]: f for f in cu.seen if f["type"] == "ack"}
    assert 20 <= len(acked) < 50, f"{len(acked)} acks: the kill did not land mid-stream"

    engine = await engine_process.start()
    stored = await transcript(engine, cid, token)
    texts = [m["text"] for m in stored]
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    # one socket, one conversation: what survived is the question plus a prefix of what was sent
    assert texts == ["first question"] + [t for _, t in sent[:len(stored) - 1]]
    by_text = {m["text"]: m for m in stored}
    for client_id, text in sent:
        if client_id in acked:
            assert by_text[text]["seq"] == acked[client_id]["seq"]
            assert by_text[text]["id"] == acked[client_id]["id"]

    async with connect(engine, token, "customer-again", resume={cid: len(stored)}) as cu:
        retried: dict[str, dict[str, Any]] = {}
        for client_id, text in sent[19:]:  # the last acked one before the crash, then everything after it
            await cu.send({"type": "send", "client_id": client_id, "text": text})
            retried[client_id] = await cu.expect("ack", client_id=client_id)
        for client_id, ack in acked.items():
            if client_id in retried:
                assert (retried[client_id]["seq"], retried[client_id]["id"]) == (ack["seq"], ack["id"])
        # a second retry of a message first stored after the restart gets the same ack again
        last_id, last_text = sent[-1]
        await cu.send({"type": "send", "client_id": last_id, "text": last_text})
        again = await cu.expect("ack", client_id=last_id)
        assert (again["seq"], again["id"]) == (retried[last_id]["seq"], retried[last_id]["id"])

    final = await transcript(engine, cid, token)
    assert [m["seq"] for m in final] == list(range(1, 52))
    assert [m["text"] for m in final] == ["first question"] + [t for _, t in sent]


async def test_queued_chats_keep_their_order_and_pending_offers_are_made_anew_after_kill_9(
        engine_process: EngineProcess) -> None:
    engine = engine_process.engine
    async with agent(engine, 1, presence="away"):  # online but away: chats wait, nobody is offered them
        chats = [await engine.start_chat(question=f"chat {i}") for i in range(3)]
    assert [c["position"] for c in chats] == [1, 2, 3]
    cids = [c["conversation_id"] for c in chats]
    async with agent(engine, 2) as a2:
        token2 = a2.token
        old = [await a2.expect("offer", conversation_id=cid) for cid in cids]
    engine_process.kill()

    engine = await engine_process.start()
    async with connect(engine, chats[2]["customer_token"], "customer") as cu:
        assert cu.info["conversation"]["status"] == "queued"
        queued = await cu.expect("queued", conversation_id=cids[2])
        assert queued["position"] == 3
    async with connect(engine, token2, "agent2-again") as a2:
        new = [await a2.expect("offer", conversation_id=cid, timeout=2) for cid in cids]
        arrival = [f["conversation_id"] for f in a2.seen if f["type"] == "offer"]
        assert arrival == cids
        # the welcome may already list the new offers (never the old ones)
        assert {o["offer_id"] for o in a2.info["offers"]} <= {o["offer_id"] for o in new}
        assert not {o["offer_id"] for o in old} & {o["offer_id"] for o in new}
        await a2.send({"type": "accept", "offer_id": old[0]["offer_id"]})
        err = await a2.expect("error", ref=old[0]["offer_id"])
        assert err["code"] == "offer_expired"
        await a2.send({"type": "accept", "offer_id": new[0]["offer_id"]})
        conv = await a2.expect("conversation", conversation_id=cids[0])
        assert conv["messages"][0]["text"] == "chat 0"


async def test_accepted_conversation_stays_open_with_its_agent_after_kill_9(engine_process: EngineProcess) -> None:
    engine = engine_process.engine
    async with agent(engine, 1) as a1:
        token1 = a1.token
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await cu.send_text(None, "hello from the customer")
            reply = await a1.send_text(cid, "hello from the agent")
            assert reply["seq"] == 3
            await cu.expect("message", seq=3)
        await a1.send({"type": "presence", "state": "away"})  # its chosen presence survives the crash too
        await a1.expect("presence", state="away")
        await engine.start_chat()  # committed after the presence change (one ordered writer)
    engine_process.kill()

    engine = await engine_process.start()
    async with connect(engine, token1, "agent1-again") as a1:
        assert a1.info["presence"] == "away"
        assert a1.info["agent"]["email"] == "agent1@demo.test" and a1.info["agent"]["name"] == "Agent One"
        [view] = a1.info["conversations"]
        assert view["conversation_id"] == cid and view["status"] == "active" and view["last_seq"] == 3
        assert [(p["id"], p["name"], p["role"]) for p in view["participants"]] == [
            (a1.info["agent"]["id"], "Agent One", "owner")]
        async with connect(engine, chat["customer_token"], "customer-again", resume={cid: 1}) as cu:
            welcome = cu.info["conversation"]
            assert welcome["status"] == "active" and welcome["last_seq"] == 3
            assert [p["name"] for p in welcome["participants"]] == ["Agent One"]
            assert (await cu.expect("message", seq=2))["text"] == "hello from the customer"
            assert (await cu.expect("message", seq=3))["text"] == "hello from the agent"
            ack = await cu.send_text(None, "still there?")
            assert ack["seq"] == 4
            assert (await a1.expect("message", seq=4))["text"] == "still there?"
            assert not [f for f in cu.seen if f["type"] in ("requeued", "participant_left")]
        assert offers_in(a1.seen) == []  # away: the chat waiting since before the crash is not offered


async def test_messaging_conversations_come_back_open_pending_and_resolved_exactly_after_kill_9(
        engine_process: EngineProcess) -> None:
    engine = engine_process.engine
    chats = {}
    async with agent(engine, 1) as a1:
        for name in ("open", "pending", "resolved"):
            chats[name] = await engine.start_chat(queue="messages", email=f"{name}@example.com",
                                                  question=f"stays {name}")
            await accept_next(a1, chats[name]["conversation_id"])
        for status in ("pending", "resolved"):
            cid = chats[status]["conversation_id"]
            await a1.send({"type": "set_status", "conversation_id": cid, "status": status})
            await a1.expect("status", conversation_id=cid, status=status)
    engine_process.kill()
    engine = await engine_process.start()
    async with agent(engine, 1) as a1:
        owned = {c["conversation_id"]: c["status"] for c in a1.info["conversations"]}
        assert owned == {chats["open"]["conversation_id"]: "open"}
        for status in ("pending", "resolved"):
            async with connect(engine, chats[status]["customer_token"], "customer") as cu:
                assert cu.info["conversation"]["status"] == status
        # the resolved one reopens to its last owner when its customer writes again
        async with connect(engine, chats["resolved"]["customer_token"], "customer") as cu:
            await cu.send_text(None, "one more thing")
            await a1.expect("offer", conversation_id=chats["resolved"]["conversation_id"])


async def test_an_invitation_pending_at_a_crash_is_expired_and_the_owner_may_invite_again(
        engine_process: EngineProcess, postgres: Postgres) -> None:
    engine = engine_process.engine
    async with agent(engine, 1) as a1, agent(engine, 2) as a2:
        token1, token2 = a1.token, a2.token
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2.info["agent"]["id"]})
        await a2.expect("invitation", conversation_id=cid)
        await psql_until(postgres, engine_process.database_url,     # written behind the frame, as offers are
                         f"SELECT status FROM invitations WHERE conversation_id = '{cid}'", "pending")
    engine_process.kill()

    engine = await engine_process.start()
    # its timer died with the process: the row says so, not "pending" for ever
    assert await psql(postgres, engine_process.database_url,
                      f"SELECT status FROM invitations WHERE conversation_id = '{cid}'") == "expired"
    async with connect(engine, token1, "agent1-again") as a1, connect(engine, token2, "agent2-again") as a2:
        assert a2.info["invitations"] == []
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2.info["agent"]["id"]})
        await a2.expect("invitation", conversation_id=cid)
