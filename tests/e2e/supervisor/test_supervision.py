"""Supervision of the actors (engine/runtime/supervision.py) with a real engine and PostgreSQL: a
bug in one actor's handler, injected through the test-only ``Faults`` hook, stays in that actor.
It is restarted from the database, its clients resume, nothing acked is lost, every other
conversation goes on, and ``/metrics`` counts it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from conftest import Client, Engine, accept_next, agent, connect, make_config, metric, running_engine

from frontdesk.engine.conversations.model import ClientFrame
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.runtime.faults import Faults
from frontdesk.engine.storage.db import open_database

CLOSE_TRY_AGAIN = 1013


@asynccontextmanager
async def faulty_engine(database_url: str, data_dir: Path) -> AsyncIterator[tuple[Engine, Faults]]:
    faults = Faults()
    async with running_engine(make_config(database_url, data_dir, faults=faults)) as engine:
        yield engine, faults


def sends(text: str) -> Any:
    """A rule: a customer's or an agent's ``send`` with this text."""
    return lambda c: isinstance(c, ClientFrame) and isinstance(c.command, protocol.Send) and c.command.text == text


async def wait_for_metric(engine: Engine, name: str, actor: str, value: float) -> None:
    with trio.fail_after(10):
        while await metric(engine, f'{name}{{actor="{actor}"}}') < value:  # noqa: ASYNC110  # /metrics is all a client sees
            await trio.sleep(0.02)


@asynccontextmanager
async def connect_live(engine: Engine, token: str, name: str, resume: dict[str, int] | None = None
                       ) -> AsyncIterator[Client]:
    """A customer socket attached to the conversation's running actor: while a crashed one waits for
    its restart, a hello is answered from the database (no participants) and the client tries again."""
    with trio.fail_after(10):
        while True:
            async with connect(engine, token, name, resume=resume) as c:
                if c.info["conversation"]["participants"]:
                    yield c
                    return
            await trio.sleep(0.02)


async def open_chat(engine: Engine, a: Client, question: str) -> tuple[str, str]:
    chat = await engine.start_chat(question=question)
    await accept_next(a, chat["conversation_id"])
    return chat["conversation_id"], chat["customer_token"]


async def test_a_conversation_that_crashes_is_restarted_and_its_customer_resumes_without_losing_a_message(
        database_url: str, data_dir: Path) -> None:
    async with faulty_engine(database_url, data_dir) as (engine, faults), agent(engine, 1) as a1:
        cid, token = await open_chat(engine, a1, "first chat")
        other_cid, other_token = await open_chat(engine, a1, "second chat")
        faults.arm("conversation", sends("boom"))
        async with connect(engine, token, "customer") as cu, connect(engine, other_token, "other") as other:
            before = await cu.send_text(None, "acked before the crash")
            await a1.expect("message", conversation_id=cid, seq=before["seq"])
            retry_id = uuid.uuid4().hex
            await cu.send({"type": "send", "client_id": retry_id, "text": "boom"})
            assert await cu.closed_code() == CLOSE_TRY_AGAIN
            # the other conversation never noticed
            still = await other.send_text(None, "still here")
            await a1.expect("message", conversation_id=other_cid, seq=still["seq"])
        await wait_for_metric(engine, "frontdesk_actor_restarts_total", "conversation", 1)
        async with connect_live(engine, token, "customer again", resume={cid: 0}) as again:
            assert again.info["conversation"]["status"] == "active"
            replayed = await again.expect("message", seq=before["seq"])
            assert replayed["text"] == "acked before the crash"
            await again.send({"type": "send", "client_id": retry_id, "text": "boom"})   # the client's retry
            ack = await again.expect("ack", client_id=retry_id)
            assert ack["seq"] == before["seq"] + 1
            got = await a1.expect("message", conversation_id=cid, seq=ack["seq"])
            assert got["text"] == "boom"
            reply = await a1.send_text(cid, "the restarted chat answers")
            await again.expect("message", seq=reply["seq"])
    assert faults.raised == 1


async def test_a_conversation_that_keeps_crashing_is_parked_and_marked_while_the_others_go_on(
        database_url: str, data_dir: Path) -> None:
    async with faulty_engine(database_url, data_dir) as (engine, faults), agent(engine, 1) as a1:
        cid, token = await open_chat(engine, a1, "a chat with a bug")
        other_cid, other_token = await open_chat(engine, a1, "a healthy chat")
        faults.arm("conversation", sends("poison"), times=100)
        client_id = uuid.uuid4().hex
        for attempt in range(5):    # the customer's client retries its send after every close
            async with connect_live(engine, token, f"customer {attempt}") as cu:
                await cu.send({"type": "send", "client_id": client_id, "text": "poison"})
                assert await cu.closed_code() == CLOSE_TRY_AGAIN
            await wait_for_metric(engine, "frontdesk_actor_restarts_total", "conversation", min(attempt + 1, 4))
        await wait_for_metric(engine, "frontdesk_actors_parked_total", "conversation", 1)
        async with connect(engine, other_token, "other") as other:
            ok = await other.send_text(None, "the healthy chat still works")
            await a1.expect("message", conversation_id=other_cid, seq=ok["seq"])
        async with open_database(database_url) as db:
            with trio.fail_after(10):
                # the mark is a write the engine posts: it commits soon after the parking
                while not await db.fetchval(  # noqa: ASYNC110
                        "SELECT parked_at IS NOT NULL FROM conversations WHERE id = $1", uuid.UUID(cid)):
                    await trio.sleep(0.02)
            assert await db.fetchval("SELECT parked_at IS NULL FROM conversations WHERE id = $1",
                                     uuid.UUID(other_cid))
    assert faults.raised == 5


async def test_an_agent_actor_that_crashes_closes_its_sockets_and_the_console_comes_back(
        database_url: str, data_dir: Path) -> None:
    async with faulty_engine(database_url, data_dir) as (engine, faults), agent(engine, 1) as a1:
        cid, token = await open_chat(engine, a1, "before the agent's actor crashes")
        faults.arm("agent", lambda c: type(c).__name__ == "Deliver" or type(c).__name__ == "DetachSocket")
        # a second socket of the same agent makes the actor handle a command of its own
        async with connect(engine, a1.token, "agent1 second tab"):
            pass
        assert await a1.closed_code() == CLOSE_TRY_AGAIN
        await wait_for_metric(engine, "frontdesk_actor_restarts_total", "agent", 1)
        async with connect(engine, a1.token, "agent1 again", resume={cid: 0}) as back:
            assert cid in [c["conversation_id"] for c in back.info["conversations"]]
            async with connect(engine, token, "customer") as cu:
                sent = await cu.send_text(None, "are you there?")
                got = await back.expect("message", conversation_id=cid, seq=sent["seq"])
                assert got["text"] == "are you there?"


def command_named(name: str) -> Any:
    """A rule: a Router command of this type."""
    return lambda c: type(c).__name__ == name


async def test_a_router_that_crashes_is_rebuilt_in_place_and_routing_goes_on(
        database_url: str, data_dir: Path) -> None:
    async with faulty_engine(database_url, data_dir) as (engine, faults), agent(engine, 1) as a1:
        cid, token = await open_chat(engine, a1, "an open chat before the crash")
        waiting = await engine.start_chat(question="offered when the Router crashes")
        offer = await a1.expect("offer", conversation_id=waiting["conversation_id"])
        faults.arm("router", command_named("SetPresence"))
        async with agent(engine, 2) as a2:
            await a2.send({"type": "presence", "state": "away"})    # the command with the bug
            await wait_for_metric(engine, "frontdesk_actor_restarts_total", "router", 1)
            assert (await a2.expect("error"))["code"] == "unavailable"     # its client may try again
            # the offer pending at the crash is void, and the chat is offered again
            revoked = await a1.expect("offer_revoked", offer_id=offer["offer_id"])
            assert revoked["reason"] == "agent_unavailable"
            again = await a1.expect("offer", conversation_id=waiting["conversation_id"])
            assert again["offer_id"] != offer["offer_id"]
            await a1.send({"type": "accept", "offer_id": again["offer_id"]})
            await a1.expect("conversation", conversation_id=waiting["conversation_id"])
            # the open chat never noticed, and a new chat is routed as before
            async with connect(engine, token, "customer") as cu:
                sent = await cu.send_text(None, "still talking to the same agent")
                await a1.expect("message", conversation_id=cid, seq=sent["seq"])
            fresh = await engine.start_chat(question="after the rebuild")
            await accept_next(a2, fresh["conversation_id"])
    async with open_database(database_url) as db:
        owners = await db.fetch("SELECT owner_id FROM conversations WHERE id = ANY($1::uuid[])",
                                [uuid.UUID(cid), uuid.UUID(waiting["conversation_id"])])
        assert {str(r["owner_id"]) for r in owners} == {a1.info["id"]}
        assert await db.fetchval("SELECT count(*) FROM offers WHERE outcome IS NULL") == 0
    assert faults.raised == 1


async def test_an_agent_whose_sign_in_crashed_the_router_is_welcomed_by_the_rebuilt_one(
        database_url: str, data_dir: Path) -> None:
    async with faulty_engine(database_url, data_dir) as (engine, faults):
        faults.arm("router", command_named("AgentOnline"))
        async with agent(engine, 1) as a1:     # its hello waits through the rebuild, then is welcomed
            assert a1.info["presence"] == "available"
            chat = await engine.start_chat(question="routed to the agent who came in during the crash")
            await accept_next(a1, chat["conversation_id"])
        await wait_for_metric(engine, "frontdesk_actor_restarts_total", "router", 1)
    assert faults.raised == 1
