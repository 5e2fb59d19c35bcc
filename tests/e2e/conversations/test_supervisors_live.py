"""Supervisors inside live chats, end to end over the real websocket (PROTOCOL.md §8, §14):
the floor in the welcome and its updates, monitor and unmonitor, whispers, join, take-over,
reassign, an agent's presence set by a supervisor, the rights checked by the engine for every
frame, the log of every action, and a take-over that survives a restart.

Engine settings of the ``engine`` fixture: offer timeout 2 s, reconnect grace 1.5 s. Demo queues:
support = agent1..3, capacity 3 each; supervisor@demo.test is "Supervisor".
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from conftest import Client, Engine, Postgres, accept_next, agent, connect, make_config, running_engine
from test_collaboration import bearer, db_rows_until, owned_chat

QUIET_S = 0.7   # how long "nothing arrives" is watched (every event here comes within milliseconds)
SUPERVISOR_FRAMES: list[dict[str, Any]] = [
    {"type": "monitor"}, {"type": "unmonitor"}, {"type": "join"}, {"type": "take_over"},
    {"type": "reassign", "agent_id": "AGENT"}, {"type": "set_agent_presence", "agent_id": "AGENT", "state": "away"},
]


@asynccontextmanager
async def supervisor(engine: Engine, resume: dict[str, int] | None = None) -> AsyncIterator[Client]:
    info = await engine.login("supervisor@demo.test", kind="supervisors")
    async with connect(engine, info["token"], "supervisor", resume=resume) as c:
        c.token = info["token"]
        c.info = {**c.info, "id": info["supervisor"]["id"]}
        yield c


def kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames]


async def transcript(engine: Engine, cid: str, token: str) -> list[dict[str, Any]]:
    async with engine.http() as http:
        r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(token))
        assert r.status_code == 200, r.text
        return list(r.json()["messages"])


async def actions(postgres: Postgres, database_url: str, count: int) -> list[dict[str, Any]]:
    """The supervisors' log, oldest first, once it holds ``count`` rows."""
    return await db_rows_until(postgres, database_url,
                               "SELECT action, supervisor_id::text, conversation_id::text, agent_id::text, detail "
                               "FROM supervisor_actions ORDER BY id", lambda rows: len(rows) >= count)


# ---- the floor -------------------------------------------------------------------------------

async def test_a_supervisor_sees_the_floor_and_its_changes(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1, supervisor(engine) as sup:
        welcome = sup.info
        assert welcome["role"] == "supervisor" and welcome["supervisor"]["name"] == "Supervisor"
        assert welcome["conversations"] == [] and welcome["floor"]["conversations"] == []
        agents = {a["name"]: a for a in welcome["floor"]["agents"]}
        assert set(agents) == {"Agent One", "Agent Two", "Agent Three", "Agent Four"}     # no supervisor
        assert agents["Agent One"]["presence"] == "away" and agents["Agent Two"]["presence"] == "offline"
        assert agents["Agent One"]["capacity"] == 3 and agents["Agent One"]["open_conversations"] == 0

        cid = (await engine.start_chat(name="Wanda Waiting"))["conversation_id"]
        floor = await sup.expect("floor", timeout=3)
        waiting = next(c for c in floor["conversations"] if c["conversation_id"] == cid)
        assert waiting["status"] == "queued" and waiting["owner"] is None and waiting["queue"] == "support"
        assert waiting["customer"]["name"] == "Wanda Waiting" and waiting["waiting_since"].endswith("Z")

        await a1.send({"type": "presence", "state": "available"})
        await accept_next(a1, cid)
        while True:     # the assignment and Agent One's load, in the next floor events
            floor = await sup.expect("floor", timeout=3)
            entry = next((c for c in floor["conversations"] if c["conversation_id"] == cid), None)
            if entry is not None and entry["status"] == "active":
                break
        assert entry["owner"] == {"id": a1.info["id"], "name": "Agent One", "role": "owner"}
        assert entry["assigned_at"].endswith("Z")

        await a1.send({"type": "end", "conversation_id": cid})
        while cid not in (await sup.expect("floor", timeout=3))["removed"]:
            pass


# ---- monitor and whisper -----------------------------------------------------------------------

async def test_monitor_sees_every_live_event_and_nobody_is_told(engine: Engine, postgres: Postgres,
                                                                database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), supervisor(engine) as sup:
        await a1.send_text(cid, "Just for colleagues", private=True)
        await sup.send({"type": "monitor", "conversation_id": cid})
        view = await sup.expect("conversation", conversation_id=cid)
        assert [m["text"] for m in view["messages"]] == ["Where is my order?", "Just for colleagues"]
        assert [p["name"] for p in view["participants"]] == ["Agent One"]

        await cu.send_text(None, "Are you there?")
        assert (await sup.expect("message", conversation_id=cid))["text"] == "Are you there?"
        await a1.send_text(cid, "Yes, looking now")
        assert (await sup.expect("message", conversation_id=cid))["text"] == "Yes, looking now"
        await a1.send({"type": "typing", "conversation_id": cid})
        await sup.expect("typing", conversation_id=cid)

        # neither the customer nor the agent heard of the supervisor
        for c in (cu, a1):
            assert not [f for f in c.seen + await c.drain(QUIET_S)
                        if sup.info["id"] in str(f) or "supervisor" in str(f).lower()]
        # watching is not taking part: the supervisor cannot write to the customer, or read
        await sup.send({"type": "send", "client_id": "public", "conversation_id": cid, "text": "Hello!"})
        error = await sup.expect("error", ref="public")
        assert error["code"] == "not_participant" and error["field"] == "private"

        await sup.send({"type": "unmonitor", "conversation_id": cid})
        await sup.drain(QUIET_S)
        await cu.send_text(None, "Hello again")
        assert "message" not in kinds(await sup.drain(QUIET_S))
        await sup.send({"type": "unmonitor", "conversation_id": cid})
        assert (await sup.expect("error"))["code"] == "not_found"
    logged = await actions(postgres, database_url, 2)
    assert [(r["action"], r["conversation_id"], r["supervisor_id"]) for r in logged] == [
        ("monitor", cid, sup.info["id"]), ("unmonitor", cid, sup.info["id"])]


async def test_a_whisper_reaches_the_agents_and_never_the_customer(engine: Engine) -> None:
    started_token = ""
    async with owned_chat(engine) as (a1, cu, cid), supervisor(engine) as sup:
        started_token = cu.token
        await sup.send({"type": "monitor", "conversation_id": cid})
        await sup.expect("conversation", conversation_id=cid)
        ack = await sup.send_text(cid, "Offer the refund", private=True)
        own = await sup.expect("message", seq=ack["seq"])
        assert own["client_id"] == ack["client_id"] and own["private"] is True
        note = await a1.expect("message", seq=ack["seq"])
        assert note["private"] is True and note["sender"] == {"kind": "agent", "id": sup.info["id"],
                                                             "name": "Supervisor"}
        await cu.send_text(None, "Anything new?")
        frames = cu.seen + await cu.drain(QUIET_S)
        assert not [f for f in frames if f.get("seq") == ack["seq"] or "refund" in str(f)]

        agent_view = await transcript(engine, cid, a1.token)
        assert "Offer the refund" in [m["text"] for m in agent_view]
    customer_view = await transcript(engine, cid, started_token)
    assert "Offer the refund" not in [m["text"] for m in customer_view]
    async with connect(engine, started_token, "customer again", resume={cid: 0}) as again:
        assert "Offer the refund" not in str(again.seen + await again.drain(QUIET_S))


# ---- join, take over, reassign -----------------------------------------------------------------

async def test_join_announces_the_supervisor_to_the_customer_by_name(engine: Engine, postgres: Postgres,
                                                                      database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), supervisor(engine) as sup:
        await sup.send({"type": "monitor", "conversation_id": cid})
        await sup.expect("conversation", conversation_id=cid)
        await sup.send({"type": "join", "conversation_id": cid})
        view = await sup.expect("conversation", conversation_id=cid)
        assert {(p["name"], p["role"]) for p in view["participants"]} == {("Agent One", "owner"),
                                                                          ("Supervisor", "invited")}
        for c in (cu, a1):
            joined = await c.expect("participant_joined", conversation_id=cid, role="invited")
            assert joined["agent"] == {"id": sup.info["id"], "name": "Supervisor"}
        ack = await sup.send_text(cid, "Hello, I am the team lead")
        assert (await cu.expect("message", seq=ack["seq"]))["sender"]["name"] == "Supervisor"
        # a participant's events come once, through its agent actor, not once more as a monitor
        await cu.send_text(None, "Nice to meet you")
        assert kinds(await sup.drain(QUIET_S)).count("message") == 2     # its own echo, the customer's
        await sup.send({"type": "join", "conversation_id": cid})
        assert (await sup.expect("error"))["code"] == "invalid_value"
        await sup.send({"type": "leave", "conversation_id": cid})
        left = await cu.expect("participant_left", conversation_id=cid)
        assert left["agent"]["name"] == "Supervisor"
    logged = await actions(postgres, database_url, 2)
    assert [r["action"] for r in logged] == ["monitor", "join"]


async def test_take_over_makes_the_supervisor_owner_and_keeps_the_old_owner_invited(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), supervisor(engine) as sup:
        await sup.send({"type": "take_over", "conversation_id": cid})
        view = await sup.expect("conversation", conversation_id=cid)
        assert {(p["name"], p["role"]) for p in view["participants"]} == {("Agent One", "invited"),
                                                                          ("Supervisor", "owner")}
        assert view["messages"][-1]["sender"]["kind"] == "system"
        assert view["messages"][-1]["text"] == "Supervisor has taken over the conversation."
        joined = await cu.expect("participant_joined", conversation_id=cid)
        assert joined["agent"]["name"] == "Supervisor" and joined["role"] == "owner"
        note = await cu.expect("message", conversation_id=cid)
        assert note["sender"]["kind"] == "system" and "Supervisor" in note["text"] and note["private"] is False
        await a1.expect("participant_joined", conversation_id=cid, role="owner")
        demoted = await a1.expect("participant_joined", conversation_id=cid, role="invited")
        assert demoted["agent"]["id"] == a1.info["id"]

        # the old owner is an invited agent now: it may leave, and no longer end the chat
        await a1.send({"type": "end", "conversation_id": cid})
        assert (await a1.expect("error"))["code"] == "forbidden"
        await a1.send({"type": "leave", "conversation_id": cid})
        await sup.expect("participant_left", conversation_id=cid)
        await sup.send({"type": "take_over", "conversation_id": cid})
        assert (await sup.expect("error"))["code"] == "invalid_value"      # the owner already
        await sup.send({"type": "end", "conversation_id": cid})
        await cu.expect("ended", conversation_id=cid)
    rows = await db_rows_until(postgres, database_url, f"SELECT owner_id::text FROM conversations WHERE id = '{cid}'",
                               lambda rows: rows)
    assert rows[0]["owner_id"] == sup.info["id"]
    assert [r["action"] for r in await actions(postgres, database_url, 1)] == ["take_over"]


async def test_reassign_moves_the_chat_to_the_named_agent_without_asking(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2, supervisor(engine) as sup:
        await sup.send({"type": "reassign", "conversation_id": cid, "agent_id": str(uuid.uuid4())})
        assert (await sup.expect("error"))["code"] == "not_found"
        await sup.send({"type": "reassign", "conversation_id": cid, "agent_id": a1.info["id"]})
        assert (await sup.expect("error"))["code"] == "invalid_value"      # the owner already

        await sup.send({"type": "reassign", "conversation_id": cid, "agent_id": a2.info["id"]})
        view = await a2.expect("conversation", conversation_id=cid)
        assert [(p["name"], p["role"]) for p in view["participants"]] == [("Agent Two", "owner")]
        assert "offer" not in kinds(a2.seen)           # no acceptance asked
        left = await a1.expect("participant_left", conversation_id=cid)
        assert left["agent"]["id"] == a1.info["id"] and left["role"] == "owner"
        # the old owner heard who has the chat now before it left (its console says to whom)
        told = [(f["type"], f["agent"]["name"], f["role"]) for f in a1.seen
                if f["type"] in ("participant_joined", "participant_left") and f["conversation_id"] == cid]
        assert told[-2:] == [("participant_joined", "Agent Two", "owner"), ("participant_left", "Agent One", "owner")]
        note = await cu.expect("message", conversation_id=cid)
        assert note["sender"]["kind"] == "system" and note["text"] == "Agent Two has taken over the conversation."

        await a1.send({"type": "send", "client_id": "late", "conversation_id": cid, "text": "still here?"})
        assert (await a1.expect("error", ref="late"))["code"] == "not_found"
        ack = await a2.send_text(cid, "Agent Two here, I take it from here")
        assert (await cu.expect("message", seq=ack["seq"]))["sender"]["name"] == "Agent Two"
    logged = await actions(postgres, database_url, 1)
    assert [(r["action"], r["agent_id"]) for r in logged] == [("reassign", a2.info["id"])]


async def test_a_waiting_chat_can_be_reassigned_to_an_away_agent(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1, supervisor(engine) as sup:
        started = await engine.start_chat()
        cid = started["conversation_id"]
        async with connect(engine, started["customer_token"], "customer") as cu:
            await cu.expect("queued")
            await sup.send({"type": "reassign", "conversation_id": cid, "agent_id": a1.info["id"]})
            await a1.expect("conversation", conversation_id=cid)
            joined = await cu.expect("participant_joined", conversation_id=cid)
            assert joined["agent"]["name"] == "Agent One" and joined["role"] == "owner"


# ---- a supervisor's new owner and a pending transfer ----------------------------------------------

async def transfer_offered(owner: Client, target: Client, cid: str) -> dict[str, Any]:
    """``owner`` transfers the chat to ``target``, who has the offer and has not answered."""
    await owner.send({"type": "transfer", "conversation_id": cid, "agent_id": target.info["id"]})
    return await target.expect("transfer_offer", conversation_id=cid)


async def transfer_statuses(postgres: Postgres, database_url: str, cid: str) -> list[dict[str, Any]]:
    return await db_rows_until(postgres, database_url,
                               f"SELECT status FROM transfers WHERE conversation_id = '{cid}' ORDER BY created_at",
                               lambda rows: rows and rows[-1]["status"] != "pending")


async def test_a_take_over_cancels_the_pending_transfer(engine: Engine, postgres: Postgres,
                                                        database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2, supervisor(engine) as sup:
        offer = await transfer_offered(a1, a2, cid)
        await sup.send({"type": "take_over", "conversation_id": cid})
        await sup.expect("conversation", conversation_id=cid)

        result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"])
        assert (result["status"], result["reason"]) == ("expired", "owner_changed")
        revoked = await a2.expect("transfer_revoked", transfer_id=offer["transfer_id"])
        assert revoked["reason"] == "owner_changed"
        await a1.expect("participant_joined", conversation_id=cid, role="invited")

        # the offer is gone for good, and the chat has no pending transfer any more
        await a2.send({"type": "accept_transfer", "transfer_id": offer["transfer_id"]})
        assert (await a2.expect("error"))["code"] == "offer_expired"
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        assert (await a1.expect("error"))["code"] == "forbidden"        # invited now: only the owner transfers
        await sup.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        assert (await a2.expect("transfer_offer", conversation_id=cid))["from"]["name"] == "Supervisor"
        assert "participant_left" not in kinds(cu.seen)
    statuses = await transfer_statuses(postgres, database_url, cid)
    assert statuses[0] == {"status": "expired"}


async def test_a_reassignment_to_the_transfers_target_cancels_the_transfer(engine: Engine, postgres: Postgres,
                                                                           database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2, supervisor(engine) as sup:
        offer = await transfer_offered(a1, a2, cid)
        await sup.send({"type": "reassign", "conversation_id": cid, "agent_id": a2.info["id"]})
        view = await a2.expect("conversation", conversation_id=cid)
        assert [(p["name"], p["role"]) for p in view["participants"]] == [("Agent Two", "owner")]
        assert (await a2.expect("transfer_revoked", transfer_id=offer["transfer_id"]))["reason"] == "owner_changed"
        result = await a1.expect("transfer_result", transfer_id=offer["transfer_id"])
        assert (result["status"], result["reason"]) == ("expired", "owner_changed")
        left = await a1.expect("participant_left", conversation_id=cid)
        assert left["agent"]["id"] == a1.info["id"]
        note = await cu.expect("message", conversation_id=cid)
        assert note["text"] == "Agent Two has taken over the conversation."

        # Agent Two's reservation for the transfer is gone, and the new owner may transfer at once
        await a2.send({"type": "transfer", "conversation_id": cid, "agent_id": a1.info["id"]})
        again = await a1.expect("transfer_offer", conversation_id=cid)
        await a1.send({"type": "accept_transfer", "transfer_id": again["transfer_id"]})
        await a1.expect("conversation", conversation_id=cid)
        assert (await a2.expect("transfer_result", transfer_id=again["transfer_id"]))["status"] == "accepted"
    assert await transfer_statuses(postgres, database_url, cid) == [{"status": "expired"}, {"status": "accepted"}]


async def test_supervisors_are_no_transfer_targets(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), supervisor(engine) as sup:
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": sup.info["id"]})
        error = await a1.expect("error")
        assert (error["code"], error["field"]) == ("not_found", "agent_id")
        await sup.send({"type": "accept_transfer", "transfer_id": str(uuid.uuid4())})
        error = await sup.expect("error")
        assert (error["code"], error["field"]) == ("forbidden", "type")


async def test_set_agent_presence_is_followed_by_the_agents_console_and_routing(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with agent(engine, 1) as a1, supervisor(engine) as sup:
        await sup.send({"type": "set_agent_presence", "agent_id": a1.info["id"], "state": "away"})
        await a1.expect("presence", state="away")
        cid = (await engine.start_chat())["conversation_id"]
        assert "offer" not in kinds(await a1.drain(QUIET_S))
        await sup.send({"type": "set_agent_presence", "agent_id": a1.info["id"], "state": "available"})
        await a1.expect("presence", state="available")
        await a1.expect("offer", conversation_id=cid)
        async with agent(engine, 2):
            pass
        a2_id = (await engine.login("agent2@demo.test"))["agent"]["id"]
        with trio.fail_after(5):
            while True:     # agent2's reconnect grace runs out: offline, so not set by anyone
                await sup.send({"type": "set_agent_presence", "agent_id": a2_id, "state": "away"})
                if (await sup.expect("error"))["field"] == "agent_id":
                    break
    logged = await db_rows_until(postgres, database_url,
                                 "SELECT state, by FROM presence_log WHERE by = 'supervisor' ORDER BY id",
                                 lambda rows: len(rows) >= 2)
    assert [(r["state"], r["by"]) for r in logged if r["by"] == "supervisor"] == [("away", "supervisor"),
                                                                                   ("available", "supervisor")]
    assert [(r["action"], r["detail"]) for r in await actions(postgres, database_url, 2)] == [
        ("set_agent_presence", "away"), ("set_agent_presence", "available")]


# ---- rights ----------------------------------------------------------------------------------

async def test_no_agent_or_customer_token_gets_a_supervisor_right(engine: Engine, postgres: Postgres,
                                                                   database_url: str) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2:
        for client in (a1, a2, cu):
            for frame in SUPERVISOR_FRAMES:
                wire = {**frame, "conversation_id": cid}
                if "agent_id" in wire:
                    wire["agent_id"] = a2.info["id"] if client is not a2 else a1.info["id"]
                await client.send(wire)
                error = await client.expect("error")
                assert (error["code"], error["field"]) == ("forbidden", "type"), (client.name, frame, error)
        # nothing changed: the owner still owns it, nobody's presence moved, nothing was logged
        ack = await a1.send_text(cid, "still mine")
        await cu.expect("message", seq=ack["seq"])
        assert "presence" not in kinds(a1.seen + a2.seen)
        others = [f for f in await cu.drain(QUIET_S) if f["type"] in ("participant_joined", "participant_left")]
        assert others == []
    rows = await db_rows_until(postgres, database_url, "SELECT count(*) AS n FROM supervisor_actions", lambda r: r)
    assert rows[0]["n"] == 0


async def test_a_supervisor_has_no_presence_and_takes_no_offers(engine: Engine) -> None:
    async with supervisor(engine) as sup:
        for frame in ({"type": "presence", "state": "away"}, {"type": "accept", "offer_id": "o"},
                      {"type": "accept_invitation", "invitation_id": "i"}):
            await sup.send(frame)
            assert (await sup.expect("error"))["code"] == "forbidden"
        await sup.send({"type": "monitor", "conversation_id": str(uuid.uuid4())})
        assert (await sup.expect("error"))["code"] == "not_found"


# ---- restart ---------------------------------------------------------------------------------

async def test_a_take_over_is_restored_after_a_restart(database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, reconnect_grace_ms=10_000)
    async with running_engine(config) as engine, owned_chat(engine) as (_, cu, cid), supervisor(engine) as sup:
        await sup.send({"type": "take_over", "conversation_id": cid})
        await sup.expect("conversation", conversation_id=cid)
        await cu.expect("message", conversation_id=cid)
        token = sup.token

    async with running_engine(config) as engine:
        async with connect(engine, token, "supervisor again", resume={cid: 0}) as sup:
            [mine] = sup.info["conversations"]
            assert mine["conversation_id"] == cid
            assert {(p["name"], p["role"]) for p in mine["participants"]} == {("Supervisor", "owner"),
                                                                              ("Agent One", "invited")}
            [entry] = sup.info["floor"]["conversations"]
            assert entry["owner"]["name"] == "Supervisor" and entry["status"] == "active"
            replayed = [f for f in sup.seen + await sup.drain(QUIET_S) if f["type"] == "message"]
            assert replayed[-1]["text"] == "Supervisor has taken over the conversation."
            ack = await sup.send_text(cid, "Back after the restart")
            assert ack["seq"] == replayed[-1]["seq"] + 1
