"""Resume, retries and receipts (PROTOCOL.md §4, §5.1–5.3): ``hello.resume`` replays exactly the missed
seqs the role may see, in order, before live events; a retried ``client_id`` is stored once; ``read`` and
``typing`` reach the other side only.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from conftest import Client, Engine, accept_next, agent, connect


@asynccontextmanager
async def active_chat(engine: Engine) -> AsyncIterator[tuple[Client, Client, dict[str, Any]]]:
    """agent1 and a customer in an accepted support chat: (agent, customer, the chat's POST answer)."""
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(question="Where is my order?")
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            await cu.expect("participant_joined", conversation_id=cid)
            yield a1, cu, chat


def message_seqs(c: Client) -> list[int]:
    return [int(f["seq"]) for f in c.seen if f["type"] == "message"]


async def transcript(engine: Engine, cid: str, token: str) -> list[dict[str, Any]]:
    async with engine.http() as http:
        r = await http.get(f"/api/conversations/{cid}/transcript", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return list(r.json()["messages"])


# ---- resume ------------------------------------------------------------------------------------

# The chat's history below: 1 question, 2 agent, 3 agent private, 4 customer, 5 agent, 6 agent private, 7 agent.
CUSTOMER_VISIBLE = [1, 2, 4, 5, 7]


@pytest.mark.parametrize(("resume_at", "replayed"), [
    pytest.param(0, [1, 2, 4, 5, 7], id="from-zero"),
    pytest.param(3, [4, 5, 7], id="from-a-private-seq"),
    pytest.param(4, [5, 7], id="from-the-middle"),
    pytest.param(7, [], id="from-the-last-seq"),
])
async def test_customer_resume_replays_the_missed_public_seqs_in_order_before_live_events(
        engine: Engine, resume_at: int, replayed: list[int]) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid, token = chat["conversation_id"], chat["customer_token"]
        await a1.send_text(cid, "reply 2")
        await a1.send_text(cid, "note 3", private=True)
        own = await cu.send_text(None, "customer 4")
        await cu.expect("message", seq=own["seq"])
        await cu.ws.aclose()
        await a1.send_text(cid, "reply 5")
        await a1.send_text(cid, "note 6", private=True)
        await a1.send_text(cid, "reply 7")

        live: list[int] = []

        async def talk_live() -> None:  # live messages race the reconnect
            for i in range(3):
                live.append((await a1.send_text(cid, f"live {i}"))["seq"])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(talk_live)
            async with connect(engine, token, "customer-again", resume={cid: resume_at}) as cu2:
                assert cu2.info["conversation"]["last_seq"] >= 7
                await cu2.expect("message", seq=10)  # the last live message
                got = [f for f in cu2.seen if f["type"] == "message"]
        assert live == [8, 9, 10]
        seqs = [int(f["seq"]) for f in got]
        # each missed public seq exactly once, in order; then the live ones (some may have been replayed)
        assert seqs == [s for s in CUSTOMER_VISIBLE + live if s > resume_at]
        assert seqs[:len(replayed)] == replayed
        assert not any(f["private"] for f in got)
        for f in got:  # the customer's own messages carry their client_id, nobody else's do
            assert ("client_id" in f) == (f["seq"] == 4), f


@pytest.mark.parametrize(("resume_at", "replayed"), [
    pytest.param(0, [1, 2, 3, 4, 5, 6], id="from-zero"),
    pytest.param(3, [4, 5, 6], id="from-the-middle"),
    pytest.param(6, [], id="from-the-last-seq"),
])
async def test_agent_resume_replays_every_missed_seq_private_included_before_live_events(
        engine: Engine, resume_at: int, replayed: list[int]) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        await a1.send_text(cid, "reply 2")
        await a1.send_text(cid, "note 3", private=True)
        await cu.send_text(None, "customer 4")
        await a1.expect("message", seq=4)
        await a1.ws.aclose()  # within the reconnect grace the agent keeps the chat
        await cu.send_text(None, "customer 5")
        await cu.send_text(None, "customer 6")

        live: list[int] = []

        async def talk_live() -> None:
            for i in range(2):
                live.append((await cu.send_text(None, f"live {i}"))["seq"])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(talk_live)
            async with connect(engine, a1.token, "agent1-again", resume={cid: resume_at}) as a1b:
                [summary] = a1b.info["conversations"]
                assert summary["conversation_id"] == cid and summary["last_seq"] >= 6
                await a1b.expect("message", seq=8)
                got = [f for f in a1b.seen if f["type"] == "message"]
        assert live == [7, 8]
        seqs = [int(f["seq"]) for f in got]
        assert seqs == [s for s in range(1, 9) if s > resume_at]
        assert seqs[:len(replayed)] == replayed
        assert [f["seq"] for f in got if f["private"]] == [s for s in [3] if s > resume_at]
        for f in got:  # the agent's own messages (2 and 3) carry their client_id
            assert ("client_id" in f) == (f["seq"] in (2, 3)), f


async def test_resume_of_a_conversation_the_socket_may_not_see_replays_nothing(engine: Engine) -> None:
    async with active_chat(engine) as (_a1, _cu, chat):
        cid = chat["conversation_id"]
        other = await engine.start_chat(name="Otto Other", email="otto@example.com")
        a2 = await engine.login("agent2@demo.test")
        for token, resume in ((chat["customer_token"], {other["conversation_id"]: 0, cid: 1}),
                              (a2["token"], {cid: 0, other["conversation_id"]: 0})):
            async with connect(engine, token, "resumer", resume=resume) as c:
                await c.send({"type": "ping"})
                await c.expect("pong")
                assert [f for f in c.seen + await c.drain(0.2) if f["type"] == "message"] == []


# ---- retries with the same client_id -----------------------------------------------------------

@pytest.mark.parametrize("who", ["customer", "agent"])
async def test_repeated_client_id_from_the_same_sender_is_stored_once_with_the_same_ack(
        engine: Engine, who: str) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        sender, other = (cu, a1) if who == "customer" else (a1, cu)
        frame = {"type": "send", "conversation_id": cid, "client_id": "retry-1", "text": "only once"}
        await sender.send(frame)
        await sender.send(frame)  # a retry racing the first ack
        first = await sender.expect("ack", client_id="retry-1")
        second = await sender.expect("ack", client_id="retry-1")
        await sender.send_text(cid, "something else")
        await sender.send(frame)  # a late retry, after other messages
        third = await sender.expect("ack", client_id="retry-1")
        assert first == second == third
        assert first["seq"] == 2 and first["conversation_id"] == cid

        assert (await other.expect("message", seq=2))["text"] == "only once"
        assert (await other.expect("message", seq=3))["text"] == "something else"
        assert not [f for f in await other.drain(0.2) if f["type"] == "message"]  # no second copy
        for token in (a1.token, chat["customer_token"]):
            texts = [m["text"] for m in await transcript(engine, cid, token)]
            assert texts == ["Where is my order?", "only once", "something else"]
        stored = (await transcript(engine, cid, a1.token))[1]
        assert stored["id"] == first["id"] and stored["seq"] == first["seq"]


async def test_same_client_id_from_two_senders_is_two_messages(engine: Engine) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        for c, text in ((cu, "from the customer"), (a1, "from the agent")):
            await c.send({"type": "send", "conversation_id": cid, "client_id": "shared-id", "text": text})
        from_customer = await cu.expect("ack", client_id="shared-id")
        from_agent = await a1.expect("ack", client_id="shared-id")
        assert {from_customer["seq"], from_agent["seq"]} == {2, 3}
        assert from_customer["id"] != from_agent["id"]
        texts = [m["text"] for m in await transcript(engine, cid, a1.token)]
        assert sorted(texts[1:]) == ["from the agent", "from the customer"]


async def test_client_id_appears_only_in_the_senders_own_message_frames(engine: Engine) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        from_customer = await cu.send_text(None, "customer says")
        from_agent = await a1.send_text(cid, "agent says")
        own = await cu.expect("message", seq=from_customer["seq"])
        assert own["client_id"] == from_customer["client_id"]
        assert "client_id" not in await a1.expect("message", seq=from_customer["seq"])
        own = await a1.expect("message", seq=from_agent["seq"])
        assert own["client_id"] == from_agent["client_id"]
        assert "client_id" not in await cu.expect("message", seq=from_agent["seq"])
        for m in await transcript(engine, cid, chat["customer_token"]):
            assert "client_id" not in m


# ---- read receipts and typing ------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "from_side"), [
    ("read", "customer"), ("read", "agent"), ("typing", "customer"), ("typing", "agent"),
])
async def test_read_and_typing_reach_the_other_side_only(engine: Engine, kind: str, from_side: str) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        await a1.send_text(cid, "Hello!")
        await cu.expect("message", seq=2)
        sender, receiver = (cu, a1) if from_side == "customer" else (a1, cu)
        frame: dict[str, Any] = {"type": kind, "conversation_id": cid}
        if kind == "read":
            frame["seq"] = 2
        await sender.send(frame)
        got = await receiver.expect(kind, conversation_id=cid)
        who = {"kind": "customer", "id": None} if from_side == "customer" else {"kind": "agent", "id": a1.info["id"]}
        if kind == "read":
            assert got["reader"] == who and got["seq"] == 2
        else:
            assert {k: got["sender"][k] for k in ("kind", "id")} == who
            assert got["sender"]["name"] == ("Cora Customer" if from_side == "customer" else "Agent One")
        await sender.send({"type": "ping"})
        await sender.expect("pong")
        assert not [f for f in sender.seen + await sender.drain(0.2) if f["type"] == kind]


async def test_read_of_an_older_seq_than_already_read_is_not_repeated(engine: Engine) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        await a1.send_text(cid, "Hello!")
        await cu.expect("message", seq=2)
        for seq in (2, 1, 2):
            await cu.send({"type": "read", "conversation_id": cid, "seq": seq})
        await a1.expect("read", conversation_id=cid, seq=2)
        await cu.send({"type": "ping"})
        await cu.expect("pong")
        assert not [f for f in await a1.drain(0.3) if f["type"] == "read"]


@pytest.mark.parametrize("from_side", ["customer", "agent"])
async def test_read_beyond_the_last_seq_is_invalid_value(engine: Engine, from_side: str) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        sender, other = (cu, a1) if from_side == "customer" else (a1, cu)
        await sender.send({"type": "read", "conversation_id": cid, "seq": 2})
        err = await sender.expect("error")
        assert (err["code"], err.get("field")) == ("invalid_value", "seq")
        await sender.send({"type": "read", "conversation_id": cid, "seq": 1})  # the last seq is fine
        await other.expect("read", conversation_id=cid, seq=1)


async def test_unique_client_ids_keep_seqs_gapless_under_a_burst(engine: Engine) -> None:
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        ids = [uuid.uuid4().hex for _ in range(20)]
        for n, client_id in enumerate(ids):
            c = cu if n % 2 else a1
            await c.send({"type": "send", "conversation_id": cid, "client_id": client_id, "text": f"m{n}"})
        acks = [await (cu if n % 2 else a1).expect("ack", client_id=client_id) for n, client_id in enumerate(ids)]
        assert sorted(a["seq"] for a in acks) == list(range(2, 22))
        await a1.expect("message", seq=21)
        assert message_seqs(a1) == sorted(message_seqs(a1))
        assert [s for s in message_seqs(a1) if s >= 2] == list(range(2, 22))


async def test_refused_sends_inside_a_burst_take_no_seq_and_do_not_hold_back_the_others(engine: Engine) -> None:
    """Sends that wait back to back are stored in one write; a refused one among them is answered alone."""
    async with active_chat(engine) as (a1, cu, chat):
        cid = chat["conversation_id"]
        frames = [
            {"type": "send", "client_id": "ok-1", "text": "first"},
            {"type": "send", "client_id": "bad-private", "text": "psst", "private": True},
            {"type": "send", "client_id": "ok-2", "text": "second"},
            {"type": "send", "client_id": "bad-option", "text": "", "option_id": "nope"},
            {"type": "send", "client_id": "ok-1", "text": "first"},      # a retry within the burst
            {"type": "send", "client_id": "ok-3", "text": "third"},
        ]
        for frame in frames:
            await cu.send(frame)
        assert (await cu.expect("error", ref="bad-private"))["code"] == "forbidden"
        assert (await cu.expect("error", ref="bad-option"))["field"] == "option_id"
        acks = {name: await cu.expect("ack", client_id=name) for name in ("ok-1", "ok-2", "ok-3")}
        assert [acks[n]["seq"] for n in ("ok-1", "ok-2", "ok-3")] == [2, 3, 4]
        assert await cu.expect("ack", client_id="ok-1") == acks["ok-1"]
        await a1.expect("message", seq=4)
        assert [f["text"] for f in a1.seen if f["type"] == "message" and f["seq"] >= 2] == ["first", "second", "third"]
        assert [m["text"] for m in await transcript(engine, cid, a1.token)] == [
            "Where is my order?", "first", "second", "third"]
