"""Administration of agents and supervisors (PROTOCOL.md §10, §14) through the HTTP API: every route
answers 201/200, 409 for a taken e-mail, 422 naming each wrong field, 403 to agents, 404 for an
unknown id; changes apply to the running engine at once (a new agent is offered chats, a raised
capacity lets a second chat be offered, a disabled agent is signed out and its chats requeued),
and each lands in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from adminkit import Admin, admin_of, assert_error, bearer
from conftest import PASSWORD, Client, Engine, agent, connect, make_config, running_engine

NEW_AGENT = {"name": "Nina New", "email": "nina@demo.test", "password": "a-long-password", "capacity": 2,
             "queues": ["support"]}


async def test_supervisor_creates_an_agent_who_signs_in_and_is_offered_chats(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        r = await admin.call("POST", "/api/agents", NEW_AGENT)
        assert r.status_code == 201, r.text
        nina = r.json()
        assert nina["name"] == "Nina New" and nina["email"] == "nina@demo.test" and nina["capacity"] == 2
        assert nina["queues"] == ["support"] and nina["disabled"] is False and "password" not in nina
        login = await http.post("/api/agents/login", json={"email": "nina@demo.test", "password": "a-long-password"})
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        listed = (await admin.call("GET", "/api/agents")).json()["agents"]
        assert {a["email"] for a in listed} >= {"nina@demo.test", "agent1@demo.test"}
        colleagues = (await admin.as_agent("GET", "/api/agents")).json()["agents"]
        assert any(a["name"] == "Nina New" for a in colleagues)
        assert all("email" not in a for a in colleagues)       # agents see no addresses
    async with connect(engine, token, "nina") as c:
        chat = await engine.start_chat()
        offer = await c.expect("offer", conversation_id=chat["conversation_id"])
        assert offer["queue"] == "support"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({**NEW_AGENT, "name": ""}, "name", "missing_field"),
    ({**NEW_AGENT, "name": "Nina\r\nBcc: x@evil.test"}, "name", "invalid_value"),
    ({**NEW_AGENT, "email": "not an address"}, "email", "invalid_email"),
    ({k: v for k, v in NEW_AGENT.items() if k != "email"}, "email", "missing_field"),
    ({**NEW_AGENT, "password": "short"}, "password", "invalid_value"),
    ({k: v for k, v in NEW_AGENT.items() if k != "password"}, "password", "missing_field"),
    ({**NEW_AGENT, "capacity": -1}, "capacity", "invalid_value"),
    ({**NEW_AGENT, "capacity": True}, "capacity", "invalid_value"),
    ({**NEW_AGENT, "capacity": "3"}, "capacity", "invalid_value"),
    ({**NEW_AGENT, "queues": "support"}, "queues", "invalid_value"),
    ({**NEW_AGENT, "queues": ["support", "nowhere"]}, "queues[1]", "invalid_value"),
    ({**NEW_AGENT, "queues": ["support", "support"]}, "queues[1]", "invalid_value"),
    ({**NEW_AGENT, "role": "supervisor"}, "role", "invalid_value"),
])
async def test_creating_an_agent_refuses_each_wrong_field_by_name(engine: Engine, body: dict[str, Any], field: str,
                                                                  code: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        assert_error(await admin.call("POST", "/api/agents", body), 422, code, field)
        assert all(a["email"] != "nina@demo.test" for a in (await admin.call("GET", "/api/agents")).json()["agents"])


async def test_an_e_mail_address_in_use_is_refused_with_409(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        assert_error(await admin.call("POST", "/api/agents", {**NEW_AGENT, "email": "Agent1@Demo.test"}),
                     409, "duplicate", "email")
        assert_error(await admin.call("POST", "/api/supervisors", {"name": "S", "email": "supervisor@demo.test",
                                                                    "password": "a-long-password"}),
                     409, "duplicate", "email")
        agent2 = await admin.agent_id("agent2@demo.test")
        assert_error(await admin.call("PATCH", f"/api/agents/{agent2}", {"email": "agent3@demo.test"}),
                     409, "duplicate", "email")


async def test_agents_and_anonymous_callers_cannot_administer(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        agent2 = await admin.agent_id("agent2@demo.test")
        for method, path, body in [("POST", "/api/agents", NEW_AGENT), ("PATCH", f"/api/agents/{agent2}",
                                                                         {"capacity": 9}),
                                   ("GET", "/api/supervisors", None), ("POST", "/api/supervisors", NEW_AGENT),
                                   ("PATCH", f"/api/supervisors/{admin.id}", {"disabled": True}),
                                   ("GET", "/api/audit", None)]:
            assert_error(await admin.as_agent(method, path, body), 403, "forbidden")
            assert_error(await http.request(method, path, json=body), 401, "unauthenticated")
        assert (await admin.call("GET", "/api/agents")).json()["agents"][0].get("capacity") is not None


async def test_changing_an_unknown_agent_is_404(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        for staff_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", admin.id):     # a supervisor's id too
            assert_error(await admin.call("PATCH", f"/api/agents/{staff_id}", {"capacity": 1}), 404, "not_found")
        agent2 = await admin.agent_id("agent2@demo.test")
        assert_error(await admin.call("PATCH", f"/api/supervisors/{agent2}", {"name": "X"}), 404, "not_found")


@pytest.mark.parametrize(("body", "field"), [
    ({"capacity": 51}, "capacity"), ({"name": None}, "name"), ({"disabled": "yes"}, "disabled"),
    ({"queues": ["nowhere"]}, "queues[0]"), ({"password": "short"}, "password"), ({"email": "x@"}, "email"),
    ({"presence": "away"}, "presence"),
])
async def test_changing_an_agent_refuses_each_wrong_field_by_name(engine: Engine, body: dict[str, Any],
                                                                  field: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        agent2 = await admin.agent_id("agent2@demo.test")
        r = await admin.call("PATCH", f"/api/agents/{agent2}", body)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text


async def test_a_raised_capacity_lets_a_second_chat_be_offered_within_two_seconds(engine: Engine) -> None:
    async with engine.http() as http, agent(engine, 4) as a4:     # agent4: sales only
        admin = await admin_of(engine, http)
        agent4 = a4.info["id"]
        r = await admin.call("PATCH", f"/api/agents/{agent4}", {"capacity": 1})
        assert r.status_code == 200 and r.json()["capacity"] == 1
        first = await engine.start_chat("sales", email="first@example.com")
        offer = await a4.expect("offer", conversation_id=first["conversation_id"])
        await a4.send({"type": "accept", "offer_id": offer["offer_id"]})
        await a4.expect("conversation", conversation_id=first["conversation_id"])
        # the capacity of 1 reached the Router: the second chat waits without an offer
        second = await engine.start_chat("sales", email="second@example.com")
        assert second["position"] == 1
        assert not [f for f in await a4.drain(0.5) if f.get("type") == "offer"]

        started = trio.current_time()
        assert (await admin.call("PATCH", f"/api/agents/{agent4}", {"capacity": 2})).status_code == 200
        await a4.expect("offer", timeout=2.0, conversation_id=second["conversation_id"])
        delay = trio.current_time() - started
        print(f"capacity change applied (second chat offered) {delay * 1000:.0f} ms after the PATCH answered")
        assert delay < 2.0


async def test_a_queue_given_to_an_agent_brings_its_waiting_chats_at_once(engine: Engine) -> None:
    async with engine.http() as http, agent(engine, 4) as a4:
        admin = await admin_of(engine, http)
        assert (await http.get("/api/queues/support")).json()["agents_online"] == 0
        # support has no one online: a member joins it by a change of agent4's queues
        r = await admin.call("PATCH", f"/api/agents/{a4.info['id']}", {"queues": ["sales", "support"]})
        assert r.status_code == 200 and r.json()["queues"] == ["sales", "support"]
        with trio.fail_after(2):
            while True:
                q = (await http.get("/api/queues/support")).json()
                if q["agents_online"] >= 1:
                    break
                await trio.sleep(0.02)
        chat = await engine.start_chat("support", email="joined@example.com")
        await a4.expect("offer", conversation_id=chat["conversation_id"])


@asynccontextmanager
async def accepted_chat(engine: Engine, owner: Client) -> AsyncIterator[tuple[Client, str]]:
    """A new chat that ``owner`` (the one agent available) accepted: its customer and the conversation."""
    chat = await engine.start_chat()
    cid = chat["conversation_id"]
    async with connect(engine, chat["customer_token"], "customer") as customer:
        offer = await owner.expect("offer", conversation_id=cid)
        await owner.send({"type": "accept", "offer_id": offer["offer_id"]})
        await owner.expect("conversation", conversation_id=cid)
        yield customer, cid


async def test_a_disabled_agent_is_signed_out_at_once_and_its_chats_are_requeued(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        async with agent(engine, 1) as a1:
            async with accepted_chat(engine, a1) as (customer, cid):
                r = await admin.call("PATCH", f"/api/agents/{a1.info['id']}", {"disabled": True})
                assert r.status_code == 200 and r.json()["disabled"] is True
                assert (await a1.expect("error"))["code"] == "unauthenticated"
                assert await a1.closed_code() == 1008
                requeued = await customer.expect("requeued", conversation_id=cid)
                assert requeued["position"] == 1
                assert_error(await http.get("/api/canned", headers=bearer(a1.token)), 401, "unauthenticated")
                assert_error(await http.post("/api/agents/login", json={"email": "agent1@demo.test",
                                                                        "password": PASSWORD}),
                             401, "bad_credentials")
                async with agent(engine, 2) as a2:      # a colleague is offered the chat
                    await a2.expect("offer", conversation_id=cid)
        listed = (await admin.call("GET", "/api/agents")).json()["agents"]
        assert next(a for a in listed if a["email"] == "agent1@demo.test")["disabled"] is True
        assert "Agent One" not in {a["name"] for a in (await http.get(
            "/api/agents", headers=bearer((await engine.login("agent2@demo.test"))["token"]))).json()["agents"]}
        # enabled again: the agent signs in as before
        assert (await admin.call("PATCH", f"/api/agents/{a1.info['id']}", {"disabled": False})).json()["disabled"] \
            is False
        assert (await engine.login("agent1@demo.test"))["agent"]["email"] == "agent1@demo.test"


@asynccontextmanager
async def pending_transfer(database_url: str, data_dir: Path) -> AsyncIterator[tuple[Admin, Client, Client,
                                                                                   Client, str, str]]:
    """Agent One owns a chat and asks Agent Two to take it over (the offer waits 30 s): a supervisor,
    both agents, the customer, the conversation and the transfer."""
    async with running_engine(make_config(database_url, data_dir, offer_timeout_ms=30_000)) as engine, \
            engine.http() as http, agent(engine, 1) as a1, agent(engine, 2, presence="away") as a2:
        async with accepted_chat(engine, a1) as (customer, cid):
            await a2.send({"type": "presence", "state": "available"})
            await a2.expect("presence", state="available")
            await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
            transfer = await a2.expect("transfer_offer", conversation_id=cid)
            yield await admin_of(engine, http), a1, a2, customer, cid, transfer["transfer_id"]


async def disable(admin: Admin, who: Client) -> None:
    """The supervisor disables the agent of ``who``, whose socket is closed at once."""
    assert (await admin.call("PATCH", f"/api/agents/{who.info['id']}", {"disabled": True})).status_code == 200
    assert await who.closed_code() == 1008


async def test_disabling_the_owner_of_a_pending_transfer_revokes_it_and_requeues_the_chat(
        database_url: str, data_dir: Path) -> None:
    async with pending_transfer(database_url, data_dir) as (admin, a1, a2, customer, cid, transfer_id):
        await disable(admin, a1)
        revoked = await a2.expect("transfer_revoked", transfer_id=transfer_id)
        assert (revoked["conversation_id"], revoked["reason"]) == (cid, "expired")
        await customer.expect("requeued", conversation_id=cid)
        # the room the transfer held is free again: the colleague is offered the chat itself
        await a2.expect("offer", conversation_id=cid)
        await a2.send({"type": "accept_transfer", "transfer_id": transfer_id})
        error = await a2.expect("error")
        assert (error["code"], error["ref"]) == ("offer_expired", transfer_id)
        # enabled again, the owner hears how its transfer ended right after its welcome
        await admin.call("PATCH", f"/api/agents/{a1.info['id']}", {"disabled": False})
        async with agent(admin.engine, 1) as again:
            assert again.info["transfers_sent"] == []
            result = await again.expect("transfer_result", transfer_id=transfer_id)
            assert (result["status"], result["conversation_id"]) == ("expired", cid)


async def test_disabling_the_target_of_a_pending_transfer_ends_it_and_the_owner_keeps_the_chat(
        database_url: str, data_dir: Path) -> None:
    async with pending_transfer(database_url, data_dir) as (admin, a1, a2, customer, cid, transfer_id):
        await disable(admin, a2)
        result = await a1.expect("transfer_result", transfer_id=transfer_id)
        assert (result["status"], result["conversation_id"]) == ("expired", cid)
        ack = await a1.send_text(cid, "Still with you")
        assert (await customer.expect("message", seq=ack["seq"]))["text"] == "Still with you"
        assert not [f for f in customer.seen if f["type"] in ("requeued", "participant_left")]
        # the chat is free for a new transfer; the disabled agent is no target any more
        await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a2.info["id"]})
        error = await a1.expect("error")
        assert (error["code"], error.get("field")) in {("not_found", "agent_id"), ("invalid_value", "agent_id")}
        async with agent(admin.engine, 3) as a3:
            await a1.send({"type": "transfer", "conversation_id": cid, "agent_id": a3.info["id"]})
            await a3.expect("transfer_offer", conversation_id=cid)


async def test_a_password_reset_takes_the_new_password_and_is_audited_without_it(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        agent2 = await admin.agent_id("agent2@demo.test")
        r = await admin.call("PATCH", f"/api/agents/{agent2}", {"password": "a-brand-new-password"})
        assert r.status_code == 200
        old = await http.post("/api/agents/login", json={"email": "agent2@demo.test", "password": PASSWORD})
        assert_error(old, 401, "bad_credentials")
        new = await http.post("/api/agents/login", json={"email": "agent2@demo.test",
                                                         "password": "a-brand-new-password"})
        assert new.status_code == 200
        entries = (await admin.call("GET", "/api/audit")).json()["entries"]
        reset = next(e for e in entries if e["target"] == agent2)
        assert reset["action"] == "agent.update" and reset["after"]["password"] == "reset"
        assert "a-brand-new-password" not in str(entries)


async def test_supervisors_are_created_listed_and_disabled_but_not_by_themselves(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        r = await admin.call("POST", "/api/supervisors", {"name": "Sam Second", "email": "sam@demo.test",
                                                          "password": "a-long-password"})
        assert r.status_code == 201, r.text
        sam = r.json()
        assert set(sam) == {"id", "name", "email", "disabled", "created_at"}
        assert_error(await admin.call("POST", "/api/supervisors", {"name": "Sam", "email": "x@demo.test",
                                                                   "password": "a-long-password", "capacity": 3}),
                     422, "invalid_value", "capacity")
        listed = (await admin.call("GET", "/api/supervisors")).json()["supervisors"]
        assert {s["email"] for s in listed} == {"supervisor@demo.test", "sam@demo.test"}
        sam_token = (await http.post("/api/supervisors/login", json={"email": "sam@demo.test",
                                                                     "password": "a-long-password"})).json()["token"]
        assert_error(await admin.call("PATCH", f"/api/supervisors/{admin.id}", {"disabled": True}),
                     422, "invalid_value", "disabled")
        async with connect(engine, sam_token, "Sam's console") as console:     # on /ws, the floor
            r = await admin.call("PATCH", f"/api/supervisors/{sam['id']}", {"disabled": True, "name": "Sam (left)"})
            assert r.status_code == 200 and r.json()["disabled"] is True and r.json()["name"] == "Sam (left)"
            assert (await console.expect("error"))["code"] == "unauthenticated"
            assert await console.closed_code() == 1008
        assert_error(await admin.call("GET", "/api/supervisors", token=sam_token), 401, "unauthenticated")


async def test_every_change_is_in_the_audit_log_with_who_when_before_and_after(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        created = (await admin.call("POST", "/api/agents", NEW_AGENT)).json()
        await admin.call("PATCH", f"/api/agents/{created['id']}", {"capacity": 4})
        r = await admin.call("GET", "/api/audit?since=2000-01-01T00:00:00Z")
        assert r.status_code == 200
        entries = r.json()["entries"]
        update, create = entries[0], entries[1]       # newest first
        assert create["action"] == "agent.create" and create["before"] is None
        assert create["after"]["email"] == "nina@demo.test"
        assert update["action"] == "agent.update" and update["target"] == created["id"]
        assert update["before"]["capacity"] == 2 and update["after"]["capacity"] == 4
        assert update["actor"]["id"] == admin.id and update["actor"]["kind"] == "supervisor"
        assert update["at"].endswith("Z")
        future = (await admin.call("GET", "/api/audit?since=2999-01-01T00:00:00Z")).json()["entries"]
        assert future == []
        assert_error(await admin.call("GET", "/api/audit?since=yesterday"), 422, "invalid_value", "since")
        assert_error(await admin.call("GET", "/api/audit?limit=0"), 422, "invalid_value", "limit")
