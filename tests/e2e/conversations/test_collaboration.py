"""Collaboration inside a conversation, end to end: invitations, private notes, option menus,
canned messages, verified customers, typing and read receipts (PROTOCOL.md §3, §4, §5.7, §5.8).

Engine settings of the ``engine`` fixture: offer (and invitation) timeout 2 s. Demo queues:
support = agent1..3, sales = agent3..4, capacity 3 each.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import trio
from conftest import Client, Engine, Postgres, accept_next, agent, connect

QUIET_S = 0.7  # how long "nothing arrives" is watched (routing acts within 50 ms)


async def db_rows(postgres: Postgres, database_url: str, select: str) -> list[dict[str, Any]]:
    """The rows of ``select`` on the test's own database (psql, JSON)."""
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    sql = (f"\\set QUIET on\n\\c {name[1]}\n\\pset tuples_only on\n\\pset format unaligned\n"
           f"SELECT coalesce(json_agg(r), '[]') FROM ({select}) r;\n")
    return list(json.loads(await trio.to_thread.run_sync(postgres.psql, sql)))


async def db_rows_until(postgres: Postgres, database_url: str, select: str, ok: Any,
                        timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll ``select`` until ``ok(rows)``: some writes are committed just after the event that
    reports them, and nothing signals the commit. Bounded by ``timeout``."""
    with trio.fail_after(timeout):
        while True:
            rows = await db_rows(postgres, database_url, select)
            if ok(rows):
                return rows
            await trio.sleep(0.1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def send_frame(c: Client, conversation_id: str | None, **fields: Any) -> str:
    """Send without waiting for the ack; returns the client_id (the ``ref`` of an error)."""
    client_id = uuid.uuid4().hex
    frame: dict[str, Any] = {"type": "send", "client_id": client_id, **fields}
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    await c.send(frame)
    return client_id


async def first_of(clients: list[Client], type_: str, timeout: float = 5.0, **match: Any) -> tuple[Client, dict]:
    """The first of ``clients`` to receive a matching frame, and the frame."""
    found: list[tuple[Client, dict[str, Any]]] = []
    with trio.move_on_after(timeout):
        async with trio.open_nursery() as nursery:
            async def one(c: Client) -> None:
                frame = await c.expect(type_, timeout=timeout, **match)
                found.append((c, frame))
                nursery.cancel_scope.cancel()

            for c in clients:
                nursery.start_soon(one, c)
    assert found, f"none of {[c.name for c in clients]} got {type_} {match} within {timeout}s"
    return found[0]


@asynccontextmanager
async def owned_chat(engine: Engine, owner: int = 1, **chat: Any) -> AsyncIterator[tuple[Client, Client, str]]:
    """Agent ``owner`` (the only one online) has accepted a new chat; the customer is connected."""
    async with agent(engine, owner) as a:
        started = await engine.start_chat(**chat)
        cid = started["conversation_id"]
        async with connect(engine, started["customer_token"], "customer") as cu:
            await accept_next(a, cid)
            await cu.expect("participant_joined", conversation_id=cid)
            yield a, cu, cid


async def invite_and_join(inviter: Client, invitee: Client, cid: str) -> None:
    """``inviter`` invites ``invitee`` by name, who accepts and has the conversation."""
    await inviter.send({"type": "invite", "conversation_id": cid, "agent_id": invitee.info["id"]})
    invitation = await invitee.expect("invitation", conversation_id=cid)
    await invitee.send({"type": "accept_invitation", "invitation_id": invitation["invitation_id"]})
    await invitee.expect("conversation", conversation_id=cid)


# ---- invitations ---------------------------------------------------------------------------

async def test_named_invitation_needs_an_online_agent_and_joins_with_the_whole_history(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, cu, cid):
        note = await a1.send_text(cid, "VIP customer, be gentle", private=True)
        await a1.send_text(cid, "Let me ask a colleague")
        a2_id = (await engine.login("agent2@demo.test"))["agent"]["id"]

        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2_id})
        assert (await a1.expect("error"))["code"] == "invalid_value"          # agent2 is not connected
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": str(uuid.uuid4())})
        assert (await a1.expect("error"))["code"] == "not_found"

        async with agent(engine, 2) as a2:
            await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2_id})
            inv = await a2.expect("invitation", conversation_id=cid)
            assert inv["from"] == {"id": a1.info["id"], "name": "Agent One"}
            assert inv["customer"]["email"] == "cora@example.com" and inv["expires_at"].endswith("Z")
            await a2.send({"type": "accept_invitation", "invitation_id": inv["invitation_id"]})

            conv = await a2.expect("conversation", conversation_id=cid)
            assert [(m["seq"], m["private"]) for m in conv["messages"]] == [(1, False), (2, True), (3, False)]
            assert conv["messages"][note["seq"] - 1]["text"] == "VIP customer, be gentle"
            assert {(p["id"], p["role"]) for p in conv["participants"]} == {(a1.info["id"], "owner"),
                                                                            (a2_id, "invited")}
            result = await a1.expect("invitation_result", invitation_id=inv["invitation_id"])
            assert result["status"] == "accepted"
            for c in (a1, cu):
                joined = await c.expect("participant_joined", conversation_id=cid, role="invited")
                assert joined["agent"] == {"id": a2_id, "name": "Agent Two"}

            # the invited agent takes part: its messages reach both, the owner's reach it
            ack = await a2.send_text(cid, "Hi, Agent Two here")
            assert (await cu.expect("message", seq=ack["seq"]))["sender"]["name"] == "Agent Two"
            assert (await a1.expect("message", seq=ack["seq"]))["text"] == "Hi, Agent Two here"
            note2 = await a1.send_text(cid, "thanks for joining", private=True)
            assert (await a2.expect("message", seq=note2["seq"]))["private"] is True
            # support's other free members (agent1, agent2) are in the conversation already
            await a1.send({"type": "invite", "conversation_id": cid, "queue": "support"})
            assert (await a1.expect("error"))["code"] == "invalid_value"
            await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2_id})
            assert (await a1.expect("error"))["code"] == "invalid_value"
            assert not [f for f in await a2.drain(0.2) if f["type"] == "invitation"]


async def test_invited_agent_can_leave_but_not_end_and_the_owner_cannot_leave(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, cu, cid), agent(engine, 2) as a2:
        await invite_and_join(a1, a2, cid)

        await a2.send({"type": "end", "conversation_id": cid})
        assert (await a2.expect("error"))["code"] == "forbidden"
        await a1.send({"type": "leave", "conversation_id": cid})
        assert (await a1.expect("error"))["code"] == "forbidden"

        await a2.send({"type": "leave", "conversation_id": cid})
        for c in (a1, cu):
            left = await c.expect("participant_left", conversation_id=cid)
            assert left["agent"]["id"] == a2.info["id"] and left["role"] == "invited"
        # gone: it can no longer write, and the chat goes on without it
        client_id = await send_frame(a2, cid, text="still here?")
        assert (await a2.expect("error", ref=client_id))["code"] == "not_found"
        ack = await a1.send_text(cid, "back to just us")
        await cu.expect("message", seq=ack["seq"])
        assert all(f.get("seq") != ack["seq"] for f in await a2.drain(QUIET_S) if f["type"] == "message")
        assert not any(f["type"] == "ended" for f in cu.seen)


async def test_queue_invitation_skips_participants_and_a_decline_asks_the_next_member(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2, agent(engine, 3) as a3:
        await a1.send({"type": "invite", "conversation_id": cid, "queue": "support"})
        first, inv = await first_of([a2, a3], "invitation", conversation_id=cid)
        assert inv["from"]["id"] == a1.info["id"]

        # one pending invitation per conversation
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": (a3 if first is a2 else a2).info["id"]})
        assert (await a1.expect("error"))["code"] == "invitation_pending"

        await first.send({"type": "decline_invitation", "invitation_id": inv["invitation_id"]})
        second = a3 if first is a2 else a2
        again = await second.expect("invitation", conversation_id=cid, timeout=1)
        assert again["invitation_id"] == inv["invitation_id"]

        await second.send({"type": "decline_invitation", "invitation_id": inv["invitation_id"]})
        result = await a1.expect("invitation_result", invitation_id=inv["invitation_id"])
        assert result["status"] == "declined"
        # nobody is asked twice; the owner, though a free support member, was never asked;
        # and the inviter heard only the final outcome, not the first decline
        late = await first.drain(QUIET_S)
        assert not [f for f in late if f["type"] == "invitation"]
        await a1.drain(0.05)  # whatever reached a1 meanwhile
        assert not [f for f in a1.seen if f["type"] == "invitation"]
        assert [f["status"] for f in a1.seen if f["type"] == "invitation_result"] == ["declined"]


async def test_named_invitation_reports_decline_and_expiry_to_the_inviter(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2:
        invite = {"type": "invite", "conversation_id": cid, "agent_id": a2.info["id"]}
        await a1.send(invite)
        inv = await a2.expect("invitation", conversation_id=cid)
        await a2.send({"type": "decline_invitation", "invitation_id": inv["invitation_id"]})
        result = await a1.expect("invitation_result", invitation_id=inv["invitation_id"], timeout=1)
        assert result["status"] == "declined"

        # the conversation is free for a new invitation; this one goes unanswered
        await a1.send(invite)
        inv = await a2.expect("invitation", conversation_id=cid)
        asked = trio.current_time()
        result = await a1.expect("invitation_result", invitation_id=inv["invitation_id"], timeout=8)
        waited = trio.current_time() - asked
        assert result["status"] == "expired"
        assert 1.5 <= waited <= 6, waited     # the offer timeout is 2 s
        # too late to accept now
        await a2.send({"type": "accept_invitation", "invitation_id": inv["invitation_id"]})
        err = await a2.expect("error", ref=inv["invitation_id"])
        assert err["code"] == "offer_expired"
        assert not [f for f in await a2.drain(QUIET_S) if f["type"] == "conversation"]
        # invitations and their outcomes are stored
        rows = await db_rows_until(
            postgres, database_url,
            f"SELECT status, invitee_id::text, inviter_id::text, decided_at FROM invitations "
            f"WHERE conversation_id = '{cid}' ORDER BY created_at",
            lambda rows: len(rows) == 2 and all(r["decided_at"] for r in rows))
        assert [r["status"] for r in rows] == ["declined", "expired"]
        assert {(r["inviter_id"], r["invitee_id"]) for r in rows} == {(a1.info["id"], a2.info["id"])}


async def test_pending_invitation_counts_towards_the_invitees_capacity(engine: Engine) -> None:
    async with agent(engine, 2) as a2:
        for _ in range(2):
            chat = await engine.start_chat()
            await accept_next(a2, chat["conversation_id"])
        async with agent(engine, 1) as a1:
            third = await engine.start_chat()
            await accept_next(a1, third["conversation_id"])     # a1 has the fewest open chats
            await a1.send({"type": "invite", "conversation_id": third["conversation_id"], "agent_id": a2.info["id"]})
            inv = await a2.expect("invitation", conversation_id=third["conversation_id"])
            await a1.send({"type": "presence", "state": "away"})
            await a1.expect("presence", state="away")

            # a2: two open chats + one pending invitation = capacity 3, so no offer
            fourth = await engine.start_chat()
            assert fourth["status"] == "queued"
            frames = await a2.drain(QUIET_S)
            assert not [f for f in frames if f["type"] == "offer"]

            await a2.send({"type": "decline_invitation", "invitation_id": inv["invitation_id"]})
            offer = await a2.expect("offer", conversation_id=fourth["conversation_id"], timeout=1)
            assert offer["queue"] == "support"


async def test_a_reconnecting_invitee_finds_the_pending_invitation_in_its_welcome(engine: Engine) -> None:
    async with agent(engine, 1) as a1, agent(engine, 2, presence="away") as a2:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        await a1.send({"type": "invite", "conversation_id": cid, "agent_id": a2.info["id"]})
        inv = await a2.expect("invitation", conversation_id=cid)
        async with connect(engine, a2.token, "agent2-again") as again:
            pending = again.info["invitations"]
            assert [i["invitation_id"] for i in pending] == [inv["invitation_id"]]
            assert pending[0]["from"]["id"] == a1.info["id"] and pending[0]["conversation_id"] == cid
            await again.send({"type": "accept_invitation", "invitation_id": inv["invitation_id"]})
            await again.expect("conversation", conversation_id=cid)
        result = await a1.expect("invitation_result", invitation_id=inv["invitation_id"])
        assert result["status"] == "accepted" and result["conversation_id"] == cid


# ---- option menus, canned messages, verified customers ----------------------------------------

async def test_option_menu_answer_becomes_a_customer_message_with_the_label(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, cu, cid):
        options = [{"id": "callback", "label": "Call me back"}, {"id": "mail", "label": "Write me an e-mail"}]
        menu = await a1.send_text(cid, "How shall we reach you?", options=options)
        shown = await cu.expect("message", seq=menu["seq"])
        assert shown["options"] == options and shown["sender"]["kind"] == "agent"

        client_id = await send_frame(cu, None, option_id="mail")
        ack = await cu.expect("ack", client_id=client_id)
        answer = await a1.expect("message", seq=ack["seq"])
        assert answer["text"] == "Write me an e-mail" and answer["option_id"] == "mail"
        assert answer["sender"]["kind"] == "customer"
        own = await cu.expect("message", seq=ack["seq"])
        assert own["client_id"] == client_id and own["text"] == "Write me an e-mail"

        client_id = await send_frame(cu, None, option_id="carrier-pigeon")
        err = await cu.expect("error", ref=client_id)
        assert err["code"] == "invalid_value"
        # only the newest menu can be answered
        newer = await a1.send_text(cid, "Which day?", options=[{"id": "mon", "label": "Monday"},
                                                               {"id": "tue", "label": "Tuesday"}])
        await cu.expect("message", seq=newer["seq"])
        client_id = await send_frame(cu, None, option_id="callback")
        assert (await cu.expect("error", ref=client_id))["code"] == "invalid_value"
        ack = await cu.send_text(None, "", option_id="tue")
        assert (await a1.expect("message", seq=ack["seq"]))["text"] == "Tuesday"
        # a menu needs 2 to 10 options, and only agents send menus
        client_id = await send_frame(a1, cid, text="pick", options=[{"id": "only", "label": "Only one"}])
        assert (await a1.expect("error", ref=client_id))["code"] == "invalid_value"
        client_id = await send_frame(cu, None, text="my menu", options=options)
        assert (await cu.expect("error", ref=client_id))["code"] == "forbidden"
        # none of the refused frames became a message
        assert (await a1.send_text(cid, "noted"))["seq"] == ack["seq"] + 1


async def test_canned_messages_are_the_agents_queues_and_the_global_ones(engine: Engine) -> None:
    a1 = await engine.login("agent1@demo.test")
    a4 = await engine.login("agent4@demo.test")
    async with engine.http() as http:
        r = await http.get("/api/canned", headers=bearer(a1["token"]))
        assert r.status_code == 200
        canned = r.json()["canned"]
        by_title = {c["title"]: c for c in canned}
        assert by_title["Greeting"]["queue"] is None and by_title["Greeting"]["text"]
        assert by_title["Password reset"]["queue"] == "support"
        assert {c["queue"] for c in canned} <= {None, "support", "after-hours"}
        assert "Offer follow-up" not in by_title
        uuid.UUID(by_title["Greeting"]["id"])

        titles4 = {c["title"]: c["queue"] for c in (await http.get("/api/canned", headers=bearer(a4["token"])))
                   .json()["canned"]}
        assert titles4.get("Offer follow-up") == "sales" and "Greeting" in titles4
        assert "Password reset" not in titles4

        assert (await http.get("/api/canned")).status_code == 401
        async with agent(engine, 1):
            chat = await engine.start_chat()
        assert (await http.get("/api/canned", headers=bearer(chat["customer_token"]))).status_code == 403


async def test_agents_list_their_colleagues_with_presence_for_a_named_invitation(engine: Engine) -> None:
    """``GET /api/agents``: every agent by name, with queues, load and presence as the Router last
    wrote it (``agent_status``); no e-mail addresses. Agents and supervisors only."""
    async with engine.http() as http, agent(engine, 1) as a1:
        supervisor = await engine.login("supervisor@demo.test", "supervisors")
        listed: list[dict[str, Any]] = []
        with trio.fail_after(10):       # until the Router's next tick has written agent one's status
            while not any(a["name"] == "Agent One" and a["presence"] == "available" for a in listed):
                r = await http.get("/api/agents", headers=bearer(a1.token))
                assert r.status_code == 200
                listed = r.json()["agents"]
                await trio.sleep(0.05)
        assert [a["name"] for a in listed] == ["Agent Four", "Agent One", "Agent Three", "Agent Two"]
        by_name = {a["name"]: a for a in listed}
        assert by_name["Agent One"]["id"] == a1.info["id"]
        assert by_name["Agent One"]["queues"] == ["after-hours", "messages", "support"]
        assert by_name["Agent Two"]["presence"] == "offline"      # never connected
        assert by_name["Agent One"]["open_conversations"] == 0 and by_name["Agent One"]["capacity"] > 0
        assert all(set(a) == {"id", "name", "presence", "queues", "open_conversations", "capacity"} for a in listed)

        r = await http.get("/api/agents", headers=bearer(supervisor["token"]))
        assert r.status_code == 200 and len(r.json()["agents"]) == 4
        assert (await http.get("/api/agents")).status_code == 401
        chat = await engine.start_chat()
        assert (await http.get("/api/agents", headers=bearer(chat["customer_token"]))).status_code == 403


async def test_verified_customer_is_marked_in_offer_and_conversation(engine: Engine) -> None:
    mac = hmac.new(b"demo-identity-secret", b"vera@example.com", hashlib.sha256).hexdigest()
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(name="typed name", email="typed@example.com",
                                       identity={"email": "vera@example.com", "name": "Vera Verified", "hmac": mac})
        cid = chat["conversation_id"]
        offer = await a1.expect("offer", conversation_id=cid)
        vera = {"name": "Vera Verified", "email": "vera@example.com", "verified": ["email", "name"]}
        assert offer["customer"]["verified"] and set(offer["customer"]["verified"]) == {"email", "name"}
        assert {**offer["customer"], "verified": sorted(offer["customer"]["verified"])} == vera
        await a1.send({"type": "accept", "offer_id": offer["offer_id"]})
        conv = await a1.expect("conversation", conversation_id=cid)
        assert sorted(conv["customer"]["verified"]) == ["email", "name"]
        assert conv["customer"]["email"] == "vera@example.com"
        async with connect(engine, a1.token, "agent1-again") as again:
            (summary,) = [c for c in again.info["conversations"] if c["conversation_id"] == cid]
            assert sorted(summary["customer"]["verified"]) == ["email", "name"]

        # a wrong hmac is ignored: the chat goes on, unverified, with the typed name
        forged = await engine.start_chat(name="Mallory", email="mallory@example.com",
                                         identity={"email": "vera@example.com", "hmac": "0" * 64})
        offer = await a1.expect("offer", conversation_id=forged["conversation_id"])
        assert offer["customer"] == {"name": "Mallory", "email": "mallory@example.com", "verified": []}


# ---- typing and read receipts --------------------------------------------------------------

async def test_typing_and_read_receipts_flow_both_ways_and_survive_a_reconnect(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, cu, cid):
        await cu.send({"type": "typing", "conversation_id": cid})
        assert (await a1.expect("typing", conversation_id=cid))["sender"]["kind"] == "customer"
        await a1.send({"type": "typing", "conversation_id": cid})
        assert (await cu.expect("typing", conversation_id=cid))["sender"]["id"] == a1.info["id"]

        hello = await a1.send_text(cid, "Hello Cora")
        await cu.expect("message", seq=hello["seq"])
        await cu.send({"type": "read", "conversation_id": cid, "seq": hello["seq"]})
        got = await a1.expect("read", conversation_id=cid)
        assert got["reader"] == {"kind": "customer", "id": None} and got["seq"] == hello["seq"]

        reply = await cu.send_text(None, "Hi!")
        await a1.expect("message", seq=reply["seq"])
        await a1.send({"type": "read", "conversation_id": cid, "seq": reply["seq"]})
        got = await cu.expect("read", conversation_id=cid)
        assert got["reader"] == {"kind": "agent", "id": a1.info["id"]} and got["seq"] == reply["seq"]
        # nobody gets its own receipt back
        assert not [f for f in await a1.drain(QUIET_S) if f["type"] == "read"]

        await cu.send({"type": "read", "conversation_id": cid, "seq": 99})
        assert (await cu.expect("error"))["code"] == "invalid_value"

        # reconnecting clients see the stored read state of everyone
        async with connect(engine, cu.token, "customer-again") as cu2:
            view = cu2.info["conversation"]
            assert view["customer_read_seq"] == hello["seq"]
            (p,) = view["participants"]
            assert p["id"] == a1.info["id"] and p["read_seq"] == reply["seq"]
        async with connect(engine, a1.token, "agent1-again") as a1b:
            (summary,) = [c for c in a1b.info["conversations"] if c["conversation_id"] == cid]
            assert summary["customer_read_seq"] == hello["seq"]
            assert [p["read_seq"] for p in summary["participants"]] == [reply["seq"]]


# ---- the privacy sweep ---------------------------------------------------------------------

async def test_private_notes_and_their_attachments_never_reach_the_customer(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    tag = uuid.uuid4().hex[:10]
    note = f"CANARY-{tag}-note"
    att_note = f"CANARY-{tag}-with-attachment"
    att_name = f"canary-{tag}-secret.txt"
    att_body = f"CANARY-{tag}-file-content\n"
    menu_text, menu_label = f"CANARY-{tag}-menu", f"CANARY-{tag}-label"
    canaries = [note, att_note, att_name, att_body.strip(), menu_text, menu_label, f"canary-{tag}", tag]

    async with owned_chat(engine, question="Public question") as (a1, cu, cid):
        token = cu.token

        async def upload(name: str, data: bytes) -> str:
            async with engine.http() as http:
                r = await http.post("/api/uploads", headers=bearer(a1.token),
                                    files={"file": (name, data, "text/plain")})
            assert r.status_code == 201, r.text
            return str(r.json()["attachment_id"])

        secret_id = await upload(att_name, att_body.encode())
        public_id = await upload("public-guide.txt", b"public guide\n")
        canaries.append(secret_id)

        await a1.send_text(cid, note, private=True)
        await a1.send_text(cid, "PUBLIC-ONE", options=[{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}])
        await a1.send_text(cid, att_note, private=True, attachments=[secret_id])
        secret_menu = [{"id": f"secret-{tag}", "label": menu_label}, {"id": "x", "label": menu_label + "2"}]
        await a1.send_text(cid, menu_text, private=True, options=secret_menu)
        last_public = await a1.send_text(cid, "PUBLIC-TWO", attachments=[public_id])
        last_private = await a1.send_text(cid, note + "-again", private=True)
        await cu.expect("message", seq=last_public["seq"])

        # the customer probes: the private menu's option, the private attachment, reading a private seq
        client_id = await send_frame(cu, None, option_id=f"secret-{tag}")
        assert (await cu.expect("error", ref=client_id))["code"] == "invalid_value"
        client_id = await send_frame(cu, None, text="mine", attachments=[secret_id])
        assert (await cu.expect("error", ref=client_id))["code"] == "not_found"
        answer = await cu.send_text(None, "", option_id="yes")
        await cu.send({"type": "read", "conversation_id": cid, "seq": last_private["seq"]})
        await a1.expect("message", seq=answer["seq"])
        await a1.expect("read", conversation_id=cid)

        outputs: dict[str, str] = {}
        async with engine.http() as http:
            r = await http.get(f"/api/attachments/{secret_id}", headers=bearer(token))
            assert r.status_code == 404
            outputs["private download"] = r.text + json.dumps(dict(r.headers))
            r = await http.get(f"/api/attachments/{public_id}", headers=bearer(token))
            assert r.status_code == 200 and r.content == b"public guide\n"
            outputs["public download"] = r.text + json.dumps(dict(r.headers))
            r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(token))
            assert r.status_code == 200
            outputs["transcript (open)"] = r.text

        # a second customer socket resuming from 0 while the chat is open
        async with connect(engine, token, "customer-resume", resume={cid: 0}) as again:
            await again.expect("message", seq=answer["seq"])
            outputs["resume (open)"] = orjson.dumps(again.seen).decode()

        await cu.send({"type": "end", "transcript_email": True})
        await cu.expect("ended", conversation_id=cid)
        outputs["customer socket"] = orjson.dumps(cu.seen + cu._pending).decode()
        outputs["customer errors"] = " ".join(f.get("message", "") for f in cu.seen if f["type"] == "error")

    # after the end: resume from the database, the transcript, the mail
    async with connect(engine, token, "customer-after", resume={cid: 0}) as after:
        await after.expect("message", seq=answer["seq"])
        outputs["resume (ended)"] = orjson.dumps(after.seen).decode()
    async with engine.http() as http:
        r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(token))
        outputs["transcript (ended)"] = r.text
        sup = await engine.login("supervisor@demo.test", kind="supervisors")
        staff_view = (await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(sup["token"]))).text
        staff_file = await http.get(f"/api/attachments/{secret_id}", headers=bearer(sup["token"]))
    (mail,) = await db_rows_until(postgres, database_url, "SELECT * FROM outbox", bool)
    outputs["transcript mail"] = mail["subject"] + mail["body_text"] + (mail["body_html"] or "")

    # the sweep is not vacuous: the public side arrived everywhere, and staff do see the canaries
    for channel in ("customer socket", "resume (open)", "resume (ended)", "transcript (open)", "transcript (ended)",
                    "transcript mail"):
        assert "PUBLIC-ONE" in outputs[channel] and "PUBLIC-TWO" in outputs[channel], channel
        assert "public-guide.txt" in outputs[channel], channel
    assert note in staff_view and att_name in staff_view and menu_label in staff_view
    assert staff_file.status_code == 200 and staff_file.text == att_body
    assert [f["code"] for f in cu.seen if f["type"] == "error"] == ["invalid_value", "not_found"]

    for channel, text in outputs.items():
        leaked = [c for c in canaries if c in text]
        assert not leaked, f"{channel} leaked {leaked}"

