"""A conversation longer than the tail its actor keeps in memory (conversations/history.py): every
promise of PROTOCOL.md §4–5 holds for messages that only the database still has. Resume replays
every message after the given seq the role may see, in order, before live events (§5.3); a retry
of an old ``client_id`` gets its original ack (§5.2); an invited agent sees the whole history
(§5.7); ``option_id`` answers the newest menu; a chat that falls back carries all its messages.
The engines here keep only 3 messages in memory, so a dozen reach the database path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import Client, Engine, accept_next, agent, connect, make_config, running_engine

from frontdesk.engine.conversations.model import ClientFrame
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.runtime.faults import Faults

TAIL = 3
MENU = [{"id": "callback", "label": "Call me back"}, {"id": "mail", "label": "Write me an e-mail"}]
# The chat below: 1 question; 2 agent menu; 3 agent private; 4..12 customer and agent in turn, 8 private.
PRIVATE = [3, 8]
CUSTOMER_SENT = [4, 6, 10, 12]
ALL = list(range(1, 13))
PUBLIC = [s for s in ALL if s not in PRIVATE]


@pytest.fixture
async def engine(database_url: str, data_dir: Path) -> AsyncIterator[Engine]:
    async with running_engine(make_config(database_url, data_dir, history_tail_messages=TAIL)) as e:
        yield e


@asynccontextmanager
async def long_chat(engine: Engine) -> AsyncIterator[tuple[Client, Client, str, str, dict[int, dict[str, Any]]]]:
    """agent1 and a customer after the 12 messages above: (agent, customer, id, customer token, acks by seq)."""
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(question="Where is my order?")
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            await cu.expect("participant_joined", conversation_id=cid)
            acks = {}
            acks[2] = await a1.send_text(cid, "How shall we reach you?", options=MENU)
            acks[3] = await a1.send_text(cid, "note 3", private=True)
            for seq in range(4, 13):
                if seq in CUSTOMER_SENT:
                    acks[seq] = await cu.send_text(None, f"customer {seq}")
                else:
                    acks[seq] = await a1.send_text(cid, f"agent {seq}", private=seq in PRIVATE)
                assert acks[seq]["seq"] == seq
            await cu.expect("message", seq=12)
            await a1.expect("message", seq=12)
            yield a1, cu, cid, chat["customer_token"], acks


def messages(c: Client) -> list[dict[str, Any]]:
    return [f for f in c.seen if f["type"] == "message"]


@pytest.mark.parametrize("resume_at", [0, 2, 5, 9, 12])
async def test_customer_resume_from_before_the_tail_replays_every_public_message_before_live_events(
        engine: Engine, resume_at: int) -> None:
    async with long_chat(engine) as (a1, _cu, cid, token, _acks):
        live: list[int] = []

        async def talk_live() -> None:      # live messages race the reconnect
            for i in range(3):
                live.append((await a1.send_text(cid, f"live {i}"))["seq"])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(talk_live)
            async with connect(engine, token, "customer again", resume={cid: resume_at}) as again:
                assert again.info["conversation"]["last_seq"] >= 12
                await again.expect("message", seq=15)
                got = messages(again)
        assert live == [13, 14, 15]
        assert [f["seq"] for f in got] == [s for s in PUBLIC + live if s > resume_at]
        for f in got:
            assert not f["private"]
            assert ("client_id" in f) == (f["seq"] in CUSTOMER_SENT), f
        if resume_at == 0:
            assert [f["text"] for f in got[:2]] == ["Where is my order?", "How shall we reach you?"]
            assert got[1]["options"] == MENU


@pytest.mark.parametrize("resume_at", [0, 3, 8, 12])
async def test_agent_resume_from_before_the_tail_replays_every_message_private_included(
        engine: Engine, resume_at: int) -> None:
    async with long_chat(engine) as (a1, cu, cid, _token, _acks):
        live: list[int] = []

        async def talk_live() -> None:
            for i in range(2):
                live.append((await cu.send_text(None, f"live {i}"))["seq"])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(talk_live)
            async with connect(engine, a1.token, "agent1 again", resume={cid: resume_at}) as again:
                await again.expect("message", seq=14)
                got = messages(again)
        assert live == [13, 14]
        assert [f["seq"] for f in got] == [s for s in ALL + live if s > resume_at]
        assert [f["seq"] for f in got if f["private"]] == [s for s in PRIVATE if s > resume_at]
        agent_sent = [s for s in ALL if s > 1 and s not in CUSTOMER_SENT]
        for f in got:
            assert ("client_id" in f) == (f["seq"] in agent_sent), f


async def test_an_agent_invited_into_a_long_chat_joins_with_its_whole_history(engine: Engine) -> None:
    async with long_chat(engine) as (a1, _cu, cid, _token, acks), agent(engine, 2) as a2:
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2.info["id"]})
        invitation = await a2.expect("invitation", conversation_id=cid)
        await a2.send({"type": "accept_invitation", "invitation_id": invitation["invitation_id"]})
        conversation = await a2.expect("conversation", conversation_id=cid)
        got = conversation["messages"]
        assert [m["seq"] for m in got] == ALL
        assert [m["seq"] for m in got if m["private"]] == PRIVATE
        assert [m["id"] for m in got[1:]] == [acks[s]["id"] for s in ALL[1:]]
        assert not any("client_id" in m for m in got)       # none of them is the invitee's own


@pytest.mark.parametrize("who", ["customer", "agent"])
async def test_a_retry_of_a_send_older_than_the_tail_gets_its_original_ack_and_is_stored_once(
        engine: Engine, who: str) -> None:
    async with long_chat(engine) as (a1, cu, cid, token, _acks):
        sender, other = (cu, a1) if who == "customer" else (a1, cu)
        frame = {"type": "send", "conversation_id": cid, "client_id": "old-one", "text": "sent long ago"}
        await sender.send(frame)
        first = await sender.expect("ack", client_id="old-one")
        for i in range(2 * TAIL):
            await sender.send_text(cid, f"later {i}")
        await sender.send(frame)
        again = await sender.expect("ack", client_id="old-one")
        assert again == first
        assert (await sender.send_text(cid, "next"))["seq"] == first["seq"] + 2 * TAIL + 1   # no seq taken
        await other.expect("message", seq=first["seq"] + 2 * TAIL + 1)
        assert [f["seq"] for f in messages(other)].count(first["seq"]) == 1
        async with engine.http() as http:
            r = await http.get(f"/api/conversations/{cid}/transcript", headers={"Authorization": f"Bearer {token}"})
        texts = [m["text"] for m in r.json()["messages"]]
        assert texts.count("sent long ago") == 1


async def test_option_id_answers_the_newest_menu_after_it_left_the_tail(engine: Engine) -> None:
    async with long_chat(engine) as (a1, cu, _cid, _token, _acks):
        ack = await cu.send_text(None, "", option_id="mail")
        answer = await a1.expect("message", seq=ack["seq"])
        assert (answer["text"], answer["option_id"]) == ("Write me an e-mail", "mail")
        client_id = uuid.uuid4().hex
        await cu.send({"type": "send", "client_id": client_id, "text": "", "option_id": "carrier-pigeon"})
        assert (await cu.expect("error", ref=client_id))["code"] == "invalid_value"


async def test_a_customer_welcome_counts_the_last_public_seq_behind_a_tail_of_private_notes(engine: Engine) -> None:
    async with long_chat(engine) as (a1, _cu, cid, token, _acks):
        for i in range(TAIL + 1):
            await a1.send_text(cid, f"private {i}", private=True)
        async with connect(engine, token, "customer again", resume={cid: 11}) as again:
            assert again.info["conversation"]["last_seq"] == 12
            await again.expect("message", seq=12)
            await again.send({"type": "ping"})
            await again.expect("pong")
            assert [f["seq"] for f in messages(again)] == [12]


async def test_a_chat_that_falls_back_carries_every_message_it_got_while_waiting(
        database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, history_tail_messages=TAIL, max_wait_s=3)
    async with running_engine(config) as engine, agent(engine, 1, presence="away") as a1:
        chat = await engine.start_chat(question="Where is my order?")
        async with connect(engine, chat["customer_token"], "customer") as cu:
            for i in range(2 * TAIL):
                await cu.send_text(None, f"detail {i}")
            await cu.expect("fallback", conversation_id=chat["conversation_id"], timeout=10)
        async with engine.http() as http:
            r = await http.get("/api/offline-requests", headers={"Authorization": f"Bearer {a1.token}"})
        [request] = r.json()["requests"]
        assert request["question"] == "\n\n".join(["Where is my order?", *(f"detail {i}" for i in range(2 * TAIL))])


async def test_a_long_conversation_restarted_from_the_database_keeps_resume_retries_and_its_menu(
        database_url: str, data_dir: Path) -> None:
    faults = Faults()
    config = make_config(database_url, data_dir, history_tail_messages=TAIL, faults=faults)
    async with running_engine(config) as engine, long_chat(engine) as (a1, cu, cid, token, acks):
        faults.arm("conversation", lambda c: isinstance(c, ClientFrame) and isinstance(c.command, protocol.Send)
                   and c.command.text == "boom")
        await cu.send({"type": "send", "client_id": "boom-1", "text": "boom"})
        assert await cu.closed_code() == 1013
        with trio.fail_after(10):
            while True:         # until the restarted actor answers the hello (not the database's view)
                async with connect(engine, token, "customer again", resume={cid: 0}) as again:
                    if again.info["conversation"]["participants"]:
                        break
                await trio.sleep(0.02)
        async with connect(engine, token, "customer resumed", resume={cid: 0}) as resumed:
            assert resumed.info["conversation"]["last_seq"] == 12
            await resumed.expect("message", seq=12)
            assert [f["seq"] for f in messages(resumed)] == PUBLIC
            await resumed.send({"type": "send", "client_id": acks[4]["client_id"], "text": "customer 4"})
            assert await resumed.expect("ack", client_id=acks[4]["client_id"]) == acks[4]
            ack = await resumed.send_text(None, "", option_id="callback")
            assert ack["seq"] == 13
            assert (await a1.expect("message", seq=13))["text"] == "Call me back"
