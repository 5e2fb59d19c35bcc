"""Transfers over the real websocket (PROTOCOL.md §8, §14): the owner hands a chat to a colleague
or a queue; the target accepts or declines; the Router decides and the database holds it.

Engine settings of the ``engine`` fixture: offer (and transfer) timeout 2 s. Demo queues:
support = agent1..3, sales = agent3..4, capacity 3 each.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import trio
from conftest import Client, Engine, Postgres, accept_next, agent, connect, make_config, running_engine
from psycopg.rows import dict_row

from frontdesk.dashboard import db as dashboard_db
from frontdesk.dashboard import transcript
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.runtime.faults import Faults

NOTE = "VIP: refund approved internally, case 4711"
QUIET_S = 0.7


async def db_rows(postgres: Postgres, database_url: str, select: str) -> list[dict[str, Any]]:
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    sql = (f"\\set QUIET on\n\\c {name[1]}\n\\pset tuples_only on\n\\pset format unaligned\n"
           f"SELECT coalesce(json_agg(r), '[]') FROM ({select}) r;\n")
    return list(json.loads(await trio.to_thread.run_sync(postgres.psql, sql)))


async def db_until(postgres: Postgres, database_url: str, select: str, ok: Callable[[list[dict[str, Any]]], bool],
                   timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll ``select`` until ``ok(rows)``: a posted write is committed just after the event about it."""
    with trio.fail_after(timeout):
        while True:
            rows = await db_rows(postgres, database_url, select)
            if ok(rows):
                return rows
            await trio.sleep(0.1)


def transfers_of(cid: str) -> str:
    return ("SELECT from_agent_id::text AS from_id, to_agent_id::text AS to_id, to_queue, note, status, "
            f"decided_at IS NOT NULL AS decided FROM transfers WHERE conversation_id = '{cid}' ORDER BY created_at")


@asynccontextmanager
async def owned_chat(engine: Engine, owner: int = 1,
                     queue: str = "support") -> AsyncIterator[tuple[Client, Client, str]]:
    """Agent ``owner`` (the only one online) has accepted a new chat; the customer is connected."""
    async with agent(engine, owner) as a:
        started = await engine.start_chat(queue=queue)
        cid = started["conversation_id"]
        async with connect(engine, started["customer_token"], "customer") as cu:
            cu.info["customer_token"] = started["customer_token"]
            await accept_next(a, cid)
            await cu.expect("participant_joined", conversation_id=cid)
            yield a, cu, cid


async def refused(c: Client, frame: dict[str, Any]) -> dict[str, Any]:
    await c.send(frame)
    return await c.expect("error")


# ---- accept ------------------------------------------------------------------------------------

async def test_an_accepted_transfer_makes_the_colleague_owner_and_the_customer_reads_who_took_over(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2:
        await a1.send_text(cid, "One moment, a colleague will take over")
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"], "note": NOTE})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        assert offer["from"] == {"id": a1.info["id"], "name": "Agent One"}
        assert offer["customer"]["email"] == "cora@example.com" and offer["note"] == NOTE
        assert offer["expires_at"].endswith("Z") and offer["queue"] == "support"
        await a2.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})

        conv = await a2.expect("conversation", conversation_id=cid)
        assert [(p["id"], p["role"]) for p in conv["participants"]] == [(a2.info["id"], "owner")]
        note, system = conv["messages"][-2:]
        assert (note["text"], note["private"], note["sender"]["id"]) == (NOTE, True, a1.info["id"])
        assert system["sender"]["kind"] == "system" and not system["private"] and "Agent Two" in system["text"]

        left = await a1.expect("participant_left", conversation_id=cid)
        assert (left["agent"]["id"], left["role"]) == (a1.info["id"], "owner")
        result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"])
        assert result["status"] == "accepted"

        assert (await cu.expect("participant_left", conversation_id=cid))["agent"]["id"] == a1.info["id"]
        joined = await cu.expect("participant_joined", conversation_id=cid)
        assert (joined["agent"]["name"], joined["role"]) == ("Agent Two", "owner")
        told = await cu.expect("message", conversation_id=cid, seq=system["seq"])
        assert told["sender"]["kind"] == "system" and told["text"] == system["text"]

        # the new owner writes; the old one is no longer in the chat
        await a2.send_text(cid, "Hello, I am taking over")
        await cu.expect("message", conversation_id=cid, text="Hello, I am taking over")
        assert (await refused(a1, {"type": "send", "conversation_id": cid, "client_id": "x", "text": "hi"}))["code"] \
            == "not_found"

        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r and r[0]["status"] != "pending")
        assert rows == [{"from_id": a1.info["id"], "to_id": a2.info["id"], "to_queue": None, "note": NOTE,
                         "status": "accepted", "decided": True}]
        owner = await db_rows(postgres, database_url,
                              f"SELECT owner_id::text AS o FROM conversations WHERE id = '{cid}'")
        assert owner == [{"o": a2.info["id"]}]

        # the note never reaches the customer: not on its socket, nor in its transcript or its mail
        await cu.drain(QUIET_S)
        assert NOTE not in orjson.dumps(cu.seen).decode()
        async with engine.http() as http:
            r = await http.get(f"/api/conversations/{cid}/transcript",
                               headers={"Authorization": f"Bearer {cu.info['customer_token']}"})
        texts = [m["text"] for m in r.json()["messages"]]
        assert NOTE not in texts and system["text"] in texts
        await cu.send({"type": "end", "transcript_email": True})
        await cu.expect("ended", conversation_id=cid)
        mails = await db_until(postgres, database_url, "SELECT body_text, coalesce(body_html, '') AS html FROM outbox",
                               lambda r: bool(r))
        assert system["text"] in mails[0]["body_text"]
        assert NOTE not in mails[0]["body_text"] and NOTE not in mails[0]["html"]

    # the supervisors' log tells the hand-over as it happened
    def events() -> list[str]:
        with psycopg.connect(database_url, row_factory=dict_row) as conn:
            return [transcript.event_text(e["kind"], e["who"], e["detail"])
                    for e in dashboard_db.conversation_events(conn, cid)]
    lines = await trio.to_thread.run_sync(events)
    assert "Agent One asked to transfer the chat to Agent Two" in lines
    assert "Transfer accepted: Agent Two owns the chat now" in lines
    assert "Agent One left — handed the chat over" in lines


async def test_the_load_moves_with_the_chat_to_the_new_owner(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        assert offer["note"] is None
        await a2.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
        await a2.expect("conversation", conversation_id=cid)

        async def loads() -> dict[str, int]:
            async with engine.http() as http:
                r = await http.get("/api/agents", headers={"Authorization": f"Bearer {a1.token}"})
            return {a["name"]: a["open_conversations"] for a in r.json()["agents"]}

        with trio.fail_after(5):
            while (await loads()).get("Agent Two") != 1 or (await loads()).get("Agent One") != 0:  # noqa: ASYNC110
                await trio.sleep(0.1)
        # the new owner's welcome lists the chat, the old owner's does not
        async with agent(engine, 2) as again:
            assert [c["conversation_id"] for c in again.info["conversations"]] == [cid]
        async with agent(engine, 1) as again:
            assert again.info["conversations"] == []


# ---- decline and expiry ------------------------------------------------------------------------

async def test_a_declined_transfer_leaves_the_chat_with_its_owner(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"], "note": NOTE})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        await a2.send({"type": "decline_transfer", "transfer_id": offer["transfer_id"]})
        result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"])
        assert (result["status"], result["conversation_id"]) == ("declined", cid)
        await a1.send_text(cid, "Still me")
        await cu.expect("message", conversation_id=cid, text="Still me")
        assert not [f for f in cu.seen if f["type"] == "participant_left"]
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r and r[0]["status"] != "pending")
        assert [(r["status"], r["to_id"], r["decided"]) for r in rows] == [("declined", a2.info["id"], True)]
        # the answer was final: accepting afterwards is refused with the transfer's id
        error = await refused(a2, {"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
        assert (error["code"], error["ref"]) == ("offer_expired", offer["transfer_id"])


async def test_an_unanswered_transfer_expires_and_the_target_loses_the_offer(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"], timeout=6)
        assert result["status"] == "expired"
        revoked = await a2.expect("transfer_revoked", transfer_id=offer["transfer_id"])
        assert revoked["reason"] == "expired"
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r and r[0]["status"] != "pending")
        assert rows[0]["status"] == "expired"
        await a1.send_text(cid, "still mine")


# ---- queues ------------------------------------------------------------------------------------

async def test_a_transfer_to_a_queue_goes_to_a_free_member_of_that_queue(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 4) as a4:
        await a1.send({"type": "transfer", "conversation_id": cid, "queue": "sales", "note": NOTE})
        offer = await a4.expect("transfer_offer", conversation_id=cid)
        assert (offer["to_queue"], offer["note"]) == ("sales", NOTE)
        await a4.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
        await a4.expect("conversation", conversation_id=cid)
        assert "Agent Four" in (await cu.expect("message", conversation_id=cid, private=False))["text"]
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r and r[0]["status"] != "pending")
        assert [(r["to_queue"], r["to_id"], r["status"]) for r in rows] == [("sales", a4.info["id"], "accepted")]


async def test_a_transfer_to_a_queue_where_nobody_can_take_it_waits_at_the_head_then_expires(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, _cu, cid):
        await a1.send({"type": "transfer", "conversation_id": cid, "queue": "sales"})
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: bool(r))
        assert [(r["status"], r["to_id"], r["to_queue"]) for r in rows] == [("pending", None, "sales")]
        # a second one meanwhile is refused: the first one still waits
        assert (await refused(a1, {"type": "transfer", "conversation_id": cid, "queue": "sales"}))["code"] \
            == "invitation_pending"
        result = await a1.expect("transfer_result", conversation_id=cid, timeout=6)
        assert result["status"] == "expired"
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
        assert [(r["status"], r["to_id"]) for r in rows] == [("expired", None)]


async def test_a_waiting_transfer_goes_to_the_next_member_who_comes_online_before_the_waiting_chats(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    await trio.to_thread.run_sync(postgres.psql, f"\\c {name[1]}\nUPDATE staff SET capacity = 1 "
                                                  "WHERE email = 'agent4@demo.test';\n")
    # agent3 (support and sales) is online but away: sales takes chats, and nobody can take them
    async with agent(engine, 3, presence="away"), owned_chat(engine) as (a1, _cu, cid):
        waiting = await engine.start_chat(queue="sales", email="sam@example.com")
        await a1.send({"type": "transfer", "conversation_id": cid, "queue": "sales"})
        await db_until(postgres, database_url, transfers_of(cid), lambda r: bool(r))
        async with agent(engine, 4) as a4:
            offer = await a4.expect("transfer_offer", conversation_id=cid)
            assert not [f for f in await a4.drain(QUIET_S) if f["type"] == "offer"]   # its one place is taken
            await a4.send({"type": "decline_transfer", "transfer_id": offer["transfer_id"]})
            assert (await a1.expect("transfer_result", conversation_id=cid))["status"] == "declined"
            await a4.expect("offer", conversation_id=waiting["conversation_id"])      # free again: the chat


# ---- refusals ----------------------------------------------------------------------------------

async def test_one_pending_transfer_or_invitation_per_conversation(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2, agent(engine, 3) as a3:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        for frame in ({"type": "transfer", "conversation_id": cid, "agent_id": a3.info["id"]},
                      {"type": "invite", "conversation_id": cid, "agent_id": a3.info["id"]}):
            assert (await refused(a1, frame))["code"] == "invitation_pending"
        await a2.send({"type": "decline_transfer", "transfer_id": offer["transfer_id"]})
        await a1.expect("transfer_result", conversation_id=cid)
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a3.info["id"]})
        await a3.expect("invitation", conversation_id=cid)
        error = await refused(a1, {"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        assert error["code"] == "invitation_pending"
        assert not [f for f in await a2.drain(QUIET_S) if f["type"] == "transfer_offer"]


async def test_only_the_owner_transfers_and_every_field_is_checked(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2, agent(engine, 3) as a3:
        # agent2 is invited into the chat: a participant, but not its owner
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2.info["id"]})
        invitation = await a2.expect("invitation", conversation_id=cid)
        await a2.send({"type": "accept_invitation", "invitation_id": invitation["invitation_id"]})
        await a2.expect("conversation", conversation_id=cid)
        await a1.expect("invitation_result", conversation_id=cid)

        cases = [
            (a2, {"agent_id": a3.info["id"]}, "forbidden", "conversation_id"),
            (a3, {"agent_id": a2.info["id"]}, "not_found", "conversation_id"),
            (a1, {"agent_id": a1.info["id"]}, "invalid_value", "agent_id"),
            (a1, {"agent_id": str(uuid.uuid4())}, "not_found", "agent_id"),
            (a1, {"queue": "no-such-queue"}, "not_found", "queue"),
            (a1, {}, "missing_field", "agent_id"),
            (a1, {"agent_id": a3.info["id"], "queue": "sales"}, "invalid_value", "queue"),
            (a1, {"agent_id": a3.info["id"], "note": 42}, "invalid_value", "note"),
        ]
        for who, fields, code, field in cases:
            error = await refused(who, {"type": "transfer", "conversation_id": cid, **fields})
            assert (error["code"], error.get("field")) == (code, field), (fields, error)
        error = await refused(a1, {"type": "transfer", "conversation_id": str(uuid.uuid4()), "agent_id": a3.info["id"]})
        assert error["code"] == "not_found"
        # an agent who is away or offline is refused at once: the console shows who can take it
        await a3.send({"type": "presence", "state": "away"})
        await a3.expect("presence", state="away")
        assert (await refused(a1, {"type": "transfer", "conversation_id": cid, "agent_id": a3.info["id"]}))["field"] \
            == "agent_id"
        a4_id = (await engine.login("agent4@demo.test"))["agent"]["id"]
        assert (await refused(a1, {"type": "transfer", "conversation_id": cid, "agent_id": a4_id}))["code"] \
            == "invalid_value"
        error = await refused(a3, {"type": "accept_transfer", "transfer_id": "never-offered"})
        assert (error["code"], error["ref"]) == ("offer_expired", "never-offered")
        # ...and nothing was offered to anyone meanwhile
        assert not [f for c in (a2, a3) for f in await c.drain(0.2) if f["type"] == "transfer_offer"]


async def test_a_customer_cannot_transfer(engine: Engine) -> None:
    async with owned_chat(engine) as (_a1, cu, cid):
        error = await refused(cu, {"type": "transfer", "conversation_id": cid, "queue": "sales"})
        assert error["code"] == "forbidden"


# ---- the end of the chat, restarts and rebuilds -----------------------------------------------

async def test_a_transfer_of_a_chat_that_ends_is_over(engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        await cu.send({"type": "end"})
        await a2.expect("transfer_revoked", transfer_id=offer["transfer_id"])
        assert (await a1.expect("transfer_result", conversation_id=cid))["status"] == "expired"
        error = await refused(a2, {"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
        assert error["code"] == "offer_expired"
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
        assert rows[0]["status"] == "expired"


def pending_of(cid: str) -> str:
    return ("SELECT id::text, to_agent_id::text AS to_id, to_queue, expires_at IS NOT NULL AS timed, "
            "array_length(asked, 1) AS asked FROM transfers "
            f"WHERE conversation_id = '{cid}' AND status = 'pending'")


async def sql(postgres: Postgres, database_url: str, statement: str) -> None:
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    await trio.to_thread.run_sync(postgres.psql, f"\\c {name[1]}\n{statement}\n")


async def transferred_then_stopped(postgres: Postgres, database_url: str,
                                   config: Config) -> tuple[str, dict[str, Any], str]:
    """In an engine that then stops, Agent One asks Agent Two to take its chat over, with a note: the
    conversation, the ``transfer_offer`` and the customer's token."""
    async with running_engine(config) as engine, owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"], "note": NOTE})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        await db_until(postgres, database_url, pending_of(cid), lambda r: bool(r))
        return cid, offer, cu.info["customer_token"]


async def test_a_pending_transfer_survives_a_restart_and_the_target_accepts_it_afterwards(
        postgres: Postgres, database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, offer_timeout_ms=60_000, reconnect_grace_ms=30_000)
    cid, offer, customer_token = await transferred_then_stopped(postgres, database_url, config)
    async with running_engine(config) as engine:
        rows = await db_rows(postgres, database_url, transfers_of(cid))
        assert [(r["status"], r["decided"]) for r in rows] == [("pending", False)]
        async with agent(engine, 1) as a1, agent(engine, 2) as a2, \
                connect(engine, customer_token, "customer", resume={cid: 0}) as cu:
            # the owner's welcome shows the transfer it waits for; the target's, the offer as it was
            assert a1.info["transfers_sent"] == [{
                "transfer_id": offer["transfer_id"], "conversation_id": cid,
                "agent": {"id": a2.info["id"], "name": "Agent Two"}, "to_queue": None, "note": NOTE,
                "expires_at": offer["expires_at"]}]
            [again] = a2.info["transfers"]
            fields = ("transfer_id", "conversation_id", "from", "queue", "to_queue", "note", "expires_at")
            assert {k: again[k] for k in fields} == {k: offer[k] for k in fields}
            assert again["customer"]["email"] == "cora@example.com"
            assert a2.info["transfers_sent"] == [] and a2.info["conversations"] == []
            # still one pending transfer or invitation for the conversation
            for frame in ({"type": "transfer", "conversation_id": cid, "queue": "support"},
                          {"type": "invite", "conversation_id": cid, "queue": "support"}):
                assert (await refused(a1, frame))["code"] == "invitation_pending"
            await a2.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
            conv = await a2.expect("conversation", conversation_id=cid)
            assert [(p["id"], p["role"]) for p in conv["participants"]] == [(a2.info["id"], "owner")]
            assert NOTE in [m["text"] for m in conv["messages"] if m["private"]]
            await a1.expect("participant_left", conversation_id=cid)
            result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"])
            assert result["status"] == "accepted"
            joined = await cu.expect("participant_joined", conversation_id=cid, role="owner")
            assert joined["agent"]["name"] == "Agent Two"
            rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
            assert [(r["status"], r["to_id"]) for r in rows] == [("accepted", a2.info["id"])]


async def test_a_queue_transfer_waiting_at_the_head_survives_a_restart_and_goes_to_the_next_member_online(
        postgres: Postgres, database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, offer_timeout_ms=60_000, reconnect_grace_ms=30_000)
    async with running_engine(config) as engine, owned_chat(engine) as (a1, _cu, cid):
        # nobody of sales is online: the transfer waits at the head of sales
        await a1.send({"type": "transfer", "conversation_id": cid, "queue": "sales"})
        rows = await db_until(postgres, database_url, pending_of(cid), lambda r: bool(r))
        assert [(r["to_id"], r["to_queue"], r["timed"]) for r in rows] == [(None, "sales", True)]
        transfer_id = rows[0]["id"]
    async with running_engine(config) as engine:
        async with agent(engine, 1) as a1:
            [sent] = a1.info["transfers_sent"]
            assert (sent["transfer_id"], sent["agent"], sent["to_queue"]) == (transfer_id, None, "sales")
            async with agent(engine, 4) as a4:      # the first member of sales online gets it
                offer = await a4.expect("transfer_offer", conversation_id=cid)
                assert (offer["transfer_id"], offer["to_queue"], offer["from"]["name"]) == \
                    (transfer_id, "sales", "Agent One")
                await a4.send({"type": "accept_transfer", "transfer_id": transfer_id})
                await a4.expect("conversation", conversation_id=cid)
                assert (await a1.expect("transfer_result", transfer_id=transfer_id))["status"] == "accepted"
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
        assert [(r["status"], r["to_queue"]) for r in rows] == [("accepted", "sales")]


async def stopped_with_time_left(postgres: Postgres, database_url: str, data_dir: Path,
                                 seconds: int) -> tuple[Config, str, dict[str, Any]]:
    """A transfer pending when its engine stopped, of which ``seconds`` are left (as if the rest of
    its minute passed while the engine was down): the config to start again with, the conversation
    and the ``transfer_offer``."""
    config = make_config(database_url, data_dir, offer_timeout_ms=60_000, reconnect_grace_ms=30_000)
    cid, offer, _ = await transferred_then_stopped(postgres, database_url, config)
    await sql(postgres, database_url, f"UPDATE transfers SET expires_at = now() + interval '{seconds} seconds' "
                                      f"WHERE id = '{offer['transfer_id']}';")
    return config, cid, offer


async def test_a_restored_transfer_expires_with_the_time_it_had_left(
        postgres: Postgres, database_url: str, data_dir: Path) -> None:
    config, cid, offer = await stopped_with_time_left(postgres, database_url, data_dir, 6)
    async with running_engine(config) as engine, agent(engine, 1) as a1, agent(engine, 2) as a2:
        assert [t["transfer_id"] for t in a2.info["transfers"]] == [offer["transfer_id"]]
        assert [t["transfer_id"] for t in a1.info["transfers_sent"]] == [offer["transfer_id"]]
        result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"], timeout=12)
        assert result["status"] == "expired"
        assert (await a2.expect("transfer_revoked", transfer_id=offer["transfer_id"]))["reason"] == "expired"
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
        assert rows[0]["status"] == "expired"
        # the owner kept the chat, and a new transfer can be sent at once
        await a1.send_text(cid, "still mine")
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        await a2.expect("transfer_offer", conversation_id=cid)


async def test_a_transfer_that_ran_out_while_the_engine_was_down_ends_at_once_and_its_owner_hears_it_on_return(
        postgres: Postgres, database_url: str, data_dir: Path) -> None:
    config, cid, offer = await stopped_with_time_left(postgres, database_url, data_dir, -1)
    async with running_engine(config) as engine:
        # over before anyone is back
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
        assert [(r["status"], r["decided"]) for r in rows] == [("expired", True)]
        async with agent(engine, 1) as a1, agent(engine, 2) as a2:
            assert a1.info["transfers_sent"] == [] and a2.info["transfers"] == []
            assert [c["conversation_id"] for c in a1.info["conversations"]] == [cid]
            # the owner hears the result right after its welcome
            result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"])
            assert (result["status"], result["conversation_id"]) == ("expired", cid)
            error = await refused(a2, {"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
            assert (error["code"], error["ref"]) == ("offer_expired", offer["transfer_id"])
            await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
            again = await a2.expect("transfer_offer", conversation_id=cid)
            await a2.send({"type": "accept_transfer", "transfer_id": again["transfer_id"]})
            await a2.expect("conversation", conversation_id=cid)
            # the note of the transfer that ran out never became part of the conversation
            async with engine.http() as http:
                r = await http.get(f"/api/conversations/{cid}/transcript",
                                   headers={"Authorization": f"Bearer {a2.token}"})
            assert NOTE not in [m["text"] for m in r.json()["messages"]]


async def test_a_rebuilt_router_keeps_the_pending_transfer_and_its_target_accepts_it(
        postgres: Postgres, database_url: str, data_dir: Path) -> None:
    faults = Faults()
    config = make_config(database_url, data_dir, faults=faults, offer_timeout_ms=30_000)
    async with running_engine(config) as engine, owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2, \
            agent(engine, 3) as a3:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"], "note": NOTE})
        offer = await a2.expect("transfer_offer", conversation_id=cid)
        await db_until(postgres, database_url, pending_of(cid), lambda r: bool(r))
        faults.arm("router", lambda c: type(c).__name__ == "SetPresence")
        await a3.send({"type": "presence", "state": "away"})
        assert (await a3.expect("error"))["code"] == "unavailable"
        assert faults.raised == 1
        # nobody was told the transfer ended, and it still blocks a second one
        assert (await refused(a1, {"type": "invite", "conversation_id": cid, "agent_id": a3.info["id"]}))["code"] \
            == "invitation_pending"
        assert not [f for f in a1.seen if f["type"] == "transfer_result"]
        assert not [f for f in a2.seen if f["type"] == "transfer_revoked"]
        async with connect(engine, a1.token, "agent1-second-tab") as tab:     # the welcome says it is pending
            assert [t["transfer_id"] for t in tab.info["transfers_sent"]] == [offer["transfer_id"]]
        await a2.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
        conv = await a2.expect("conversation", conversation_id=cid)
        assert NOTE in [m["text"] for m in conv["messages"] if m["private"]]
        await a1.expect("participant_left", conversation_id=cid)
        assert (await a1.expect("transfer_result", transfer_id=offer["transfer_id"]))["status"] == "accepted"
        rows = await db_until(postgres, database_url, transfers_of(cid), lambda r: r[0]["status"] != "pending")
        assert [(r["status"], r["to_id"]) for r in rows] == [("accepted", a2.info["id"])]


async def test_the_target_who_signs_in_again_finds_the_offer_in_its_welcome(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid):
        info = await engine.login("agent2@demo.test")
        async with connect(engine, info["token"], "agent2") as a2:
            await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": info["agent"]["id"]})
            offer = await a2.expect("transfer_offer", conversation_id=cid)
            async with connect(engine, info["token"], "agent2-second-tab") as tab:
                assert [t["transfer_id"] for t in tab.info["transfers"]] == [offer["transfer_id"]]
                await tab.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
                await tab.expect("conversation", conversation_id=cid)
        async with httpx.AsyncClient(base_url=engine.base) as http:
            r = await http.get(f"/api/conversations/{cid}/transcript",
                               headers={"Authorization": f"Bearer {info['token']}"})
        assert r.status_code == 200
