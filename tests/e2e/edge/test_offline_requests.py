"""Offline requests end to end: left when a queue is closed, listed for the agents of that
queue (oldest first), handled once with who and when, numbered ``REQ-000042``, validated like
the pre-chat form, confirmed by mail; and a chat that waits past ``FRONTDESK_MAX_WAIT_S``
falls back to an offline request holding its conversation and messages.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from aiosmtpd.controller import Controller
from conftest import Engine, Postgres, agent, connect, make_config, running_engine

REQUEST = {"queue": "after-hours", "name": "Olga Offline", "email": "olga@example.com",
           "question": "Please call me back about my invoice."}
REQUEST_NUMBER = re.compile(r"REQ-\d{6}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sql_rows(postgres: Postgres, database_url: str, query: str) -> list[dict[str, Any]]:
    """The rows of ``query`` in this test's own database, as JSON objects."""
    name = urlsplit(database_url).path.lstrip("/")
    script = (f"\\set QUIET on\n\\set ON_ERROR_STOP on\n\\c {name}\n\\pset tuples_only on\n"
              f"\\pset format unaligned\nSELECT coalesce(json_agg(t), '[]') FROM ({query}) t;\n")
    return list(json.loads(await trio.to_thread.run_sync(postgres.psql, script)))


async def leave_request(http: httpx.AsyncClient, **change: str) -> dict[str, Any]:
    r = await http.post("/api/offline-requests", json={**REQUEST, **change})
    assert r.status_code == 201, r.text
    body = dict(r.json())
    assert set(body) == {"request_id", "request_number"}
    assert REQUEST_NUMBER.fullmatch(body["request_number"]), body
    return body


async def open_requests(http: httpx.AsyncClient, token: str, status: str = "open") -> list[dict[str, Any]]:
    r = await http.get("/api/offline-requests", params={"status": status}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["requests"])


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


# ---- closed queue -> request -> listed -> handled ----------------------------------------------

async def test_request_in_a_closed_queue_is_listed_for_its_agents_and_handled(engine: Engine) -> None:
    member = await engine.login("agent1@demo.test")       # after-hours member
    outsider = await engine.login("agent4@demo.test")     # sales only
    async with engine.http() as http:
        closed = await http.post("/api/chats", json=REQUEST)
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        first = await leave_request(http)
        second = await leave_request(http, name="Otto Offline", email="otto@example.com", question="Second one")

        listed = await open_requests(http, member["token"])
        assert [r["request_id"] for r in listed] == [first["request_id"], second["request_id"]]  # oldest first
        one = listed[0]
        assert (one["request_number"], one["queue"], one["name"], one["email"], one["question"]) == (
            first["request_number"], "after-hours", REQUEST["name"], REQUEST["email"], REQUEST["question"])
        assert (one["status"], one["handled_by"], one["handled_at"], one["conversation_id"]) == (
            "open", None, None, None)
        assert await open_requests(http, outsider["token"]) == []

        before = datetime.now(UTC)
        r = await http.post(f"/api/offline-requests/{first['request_id']}/handle", headers=bearer(member["token"]))
        assert r.status_code == 200, r.text
        handled = r.json()
        assert handled["status"] == "handled" and handled["handled_by"] == member["agent"]["id"]
        assert abs((parse_time(handled["handled_at"]) - before).total_seconds()) < 30

        assert [r["request_id"] for r in await open_requests(http, member["token"])] == [second["request_id"]]
        done = await open_requests(http, member["token"], status="handled")
        assert [(r["request_id"], r["handled_by"], r["handled_at"]) for r in done] == [
            (first["request_id"], member["agent"]["id"], handled["handled_at"])]


async def test_handling_twice_keeps_the_first_agent_and_time(engine: Engine) -> None:
    agent1 = await engine.login("agent1@demo.test")
    async with engine.http() as http:
        req = await leave_request(http, queue="support")
        agent2 = await engine.login("agent2@demo.test")
        first = (await http.post(f"/api/offline-requests/{req['request_id']}/handle",
                                 headers=bearer(agent1["token"]))).json()
        again = await http.post(f"/api/offline-requests/{req['request_id']}/handle", headers=bearer(agent2["token"]))
    assert again.status_code == 200, again.text
    assert (again.json()["handled_by"], again.json()["handled_at"]) == (agent1["agent"]["id"], first["handled_at"])


@pytest.mark.parametrize("which", ["other-queue", "unknown-id", "not-a-uuid"])
async def test_handling_a_request_the_agent_may_not_see_is_404(engine: Engine, which: str) -> None:
    member = await engine.login("agent1@demo.test")
    outsider = await engine.login("agent4@demo.test")
    async with engine.http() as http:
        req = await leave_request(http)
        target = {"other-queue": req["request_id"], "unknown-id": str(uuid.uuid4()), "not-a-uuid": "REQ-1"}[which]
        r = await http.post(f"/api/offline-requests/{target}/handle", headers=bearer(outsider["token"]))
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
        still = await open_requests(http, member["token"])
    assert [(x["request_id"], x["status"]) for x in still] == [(req["request_id"], "open")]


@pytest.mark.parametrize(("who", "status"), [("nobody", 401), ("garbage", 401), ("customer", 403),
                                              ("supervisor", 403)])
async def test_only_agents_list_and_handle_requests(engine: Engine, who: str, status: int) -> None:
    async with agent(engine, 1, presence="away"):
        chat = await engine.start_chat()
    tokens = {"nobody": None, "garbage": "not-a-token", "customer": chat["customer_token"],
              "supervisor": (await engine.login("supervisor@demo.test", kind="supervisors"))["token"]}
    token = tokens[who]
    headers = bearer(token) if token else {}
    async with engine.http() as http:
        req = await leave_request(http)
        listed = await http.get("/api/offline-requests", params={"status": "open"}, headers=headers)
        handled = await http.post(f"/api/offline-requests/{req['request_id']}/handle", headers=headers)
    assert (listed.status_code, handled.status_code) == (status, status)


async def test_unknown_status_filter_is_422(engine: Engine) -> None:
    member = await engine.login("agent1@demo.test")
    async with engine.http() as http:
        r = await http.get("/api/offline-requests", params={"status": "pending"}, headers=bearer(member["token"]))
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("invalid_value", "status")


# ---- request numbers -----------------------------------------------------------------------------

async def test_request_numbers_are_unique_and_increasing(engine: Engine) -> None:
    async with engine.http() as http:
        sequential = [await leave_request(http, queue=q, question=f"request {n}")
                      for n, q in enumerate(["after-hours", "support", "sales", "after-hours"])]
        concurrent: list[dict[str, Any]] = []

        async def one(n: int) -> None:
            concurrent.append(await leave_request(http, question=f"concurrent {n}"))

        async with trio.open_nursery() as nursery:
            for n in range(5):
                nursery.start_soon(one, n)
    numbers = [int(r["request_number"][4:]) for r in sequential]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    everything = [r["request_number"] for r in sequential + concurrent]
    assert len(set(everything)) == len(everything) == 9
    assert len({r["request_id"] for r in sequential + concurrent}) == 9
    assert min(int(r["request_number"][4:]) for r in concurrent) > numbers[-1]


# ---- validation like the pre-chat form -----------------------------------------------------------

@pytest.mark.parametrize(("change", "code", "field"), [
    pytest.param({"name": None}, "missing_field", "name", id="no-name"),
    pytest.param({"email": None}, "missing_field", "email", id="no-email"),
    pytest.param({"question": None}, "missing_field", "question", id="no-question"),
    pytest.param({"queue": None}, "missing_field", "queue", id="no-queue"),
    pytest.param({"question": "   "}, "missing_field", "question", id="blank-question"),
    pytest.param({"name": ""}, "missing_field", "name", id="empty-name"),
    pytest.param({"email": "olga-at-example.com"}, "invalid_email", "email", id="no-at"),
    pytest.param({"email": "olga@"}, "invalid_email", "email", id="no-domain"),
    pytest.param({"name": 42}, "invalid_value", "name", id="name-not-a-string"),
    pytest.param({"question": "x" * 10_001}, "invalid_value", "question", id="question-too-long"),
])
async def test_offline_request_is_validated_like_the_pre_chat_form(
        engine: Engine, postgres: Postgres, database_url: str, change: dict[str, Any], code: str,
        field: str) -> None:
    body = {k: v for k, v in {**REQUEST, "queue": "support", **change}.items() if v is not None}
    async with engine.http() as http:
        offline = await http.post("/api/offline-requests", json=body)
        chat = await http.post("/api/chats", json=body)
    for r in (offline, chat):
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert (error["code"], error["field"]) == (code, field) and error["message"]
    assert await sql_rows(postgres, database_url, "SELECT id FROM offline_requests") == []


async def test_offline_request_body_that_is_not_an_object_is_400(engine: Engine) -> None:
    async with engine.http() as http:
        r = await http.post("/api/offline-requests", content=b'["queue"]',
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"


# ---- confirmation mail ---------------------------------------------------------------------------

async def test_confirmation_mail_with_the_request_number_goes_into_the_outbox(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with engine.http() as http:
        req = await leave_request(http)
    mails = await sql_rows(postgres, database_url, "SELECT recipient, subject, body_text, body_html, status "
                                                   "FROM outbox")
    assert len(mails) == 1
    mail = mails[0]
    assert mail["recipient"] == REQUEST["email"] and mail["status"] == "queued"  # no SMTP configured
    assert req["request_number"] in mail["subject"] and req["request_number"] in mail["body_text"]
    assert REQUEST["question"] in mail["body_text"] and req["request_number"] in mail["body_html"]


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        self.arrived.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_confirmation_mail_is_sent_over_smtp(postgres: Postgres, database_url: str, data_dir: Path) -> None:
    inbox = _Inbox()
    port = _free_port()
    # its own asyncio loop, built directly: trio_asyncio's policy refuses new loops inside trio
    smtp = Controller(inbox, hostname="127.0.0.1", port=port, loop=asyncio.SelectorEventLoop())
    smtp.start()
    try:
        config = make_config(database_url, data_dir, smtp_url=f"smtp://127.0.0.1:{port}")
        async with running_engine(config) as engine, engine.http() as http:
            req = await leave_request(http)
            assert await trio.to_thread.run_sync(inbox.arrived.wait, 20), "no mail reached the SMTP server"
    finally:
        smtp.stop()
    recipients, content = inbox.mails[0]
    assert recipients == [REQUEST["email"]]
    assert req["request_number"] in content


# ---- max wait -> fallback -------------------------------------------------------------------------

async def test_chat_waiting_past_max_wait_falls_back_to_a_request_holding_its_messages(
        postgres: Postgres, database_url: str, data_dir: Path) -> None:
    # 2 s rather than 1: the customer's extra message must be stored while the chat still waits
    async with running_engine(make_config(database_url, data_dir, max_wait_s=2)) as engine:
        async with agent(engine, 1, presence="away") as a1:
            chat = await engine.start_chat(question="Where is my order?")
            cid = chat["conversation_id"]
            async with connect(engine, chat["customer_token"], "customer") as cu:
                await cu.send_text(None, "The order number is 4711.")
                fallback = await cu.expect("fallback", conversation_id=cid, timeout=10)
                assert fallback["reason"] == "max_wait"
                assert REQUEST_NUMBER.fullmatch(fallback["request_number"]), fallback
                ended = await cu.expect("ended", conversation_id=cid)
                assert (ended["by"], ended["reason"]) == ("system", "max_wait")
                order = [f["type"] for f in cu.seen if f["type"] in ("fallback", "ended")]
                assert order == ["fallback", "ended"]

            async with engine.http() as http:
                state = (await http.get("/api/queues/support")).json()
                assert state["waiting"] == 0
                requests = await open_requests(http, a1.token)
                assert len(requests) == 1
                req = requests[0]
                assert (req["request_number"], req["conversation_id"], req["queue"]) == (
                    fallback["request_number"], cid, "support")
                assert (req["name"], req["email"]) == ("Cora Customer", "cora@example.com")
                assert "Where is my order?" in req["question"] and "4711" in req["question"]
                transcript = await http.get(f"/api/conversations/{cid}/transcript",
                                            headers=bearer(chat["customer_token"]))
                assert transcript.status_code == 200
                assert [m["text"] for m in transcript.json()["messages"]] == [
                    "Where is my order?", "The order number is 4711."]
                assert transcript.json()["status"] == "ended"

            # the chat left the queue: an agent who becomes available is not offered it
            await a1.send({"type": "presence", "state": "available"})
            await a1.expect("presence", state="available")
            assert [f for f in await a1.drain(0.5) if f["type"] == "offer"] == []

    mails = await sql_rows(postgres, database_url, "SELECT recipient, subject FROM outbox")
    assert [(m["recipient"], fallback["request_number"] in m["subject"]) for m in mails] == [
        ("cora@example.com", True)]


async def test_pending_offer_is_revoked_when_the_chat_falls_back(database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, max_wait_s=1, offer_timeout_ms=10_000)
    async with running_engine(config) as engine, agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        offer = await a1.expect("offer", conversation_id=cid)  # offered, but the agent does not answer
        async with connect(engine, chat["customer_token"], "customer") as cu:
            fallback = await cu.expect("fallback", conversation_id=cid, timeout=10)
        revoked = await a1.expect("offer_revoked", offer_id=offer["offer_id"])
        assert revoked["conversation_id"] == cid and revoked["reason"] in ("customer_left", "expired")
        await a1.send({"type": "accept", "offer_id": offer["offer_id"]})
        error = await a1.expect("error", ref=offer["offer_id"])
        assert error["code"] == "offer_expired"
        async with engine.http() as http:
            requests = await open_requests(http, a1.token)
    assert [(r["request_number"], r["conversation_id"]) for r in requests] == [(fallback["request_number"], cid)]
