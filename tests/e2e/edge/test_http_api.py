"""The HTTP API of PROTOCOL.md §3 (health, metrics, sign-in, queues, chats, offline requests,
transcripts, token storage) and the Origin allowlist of the websocket.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio
from conftest import PASSWORD, Engine, Postgres, accept_next, agent, make_config, running_engine
from trio_websocket import ConnectionRejected, open_websocket_url

from frontdesk.engine.storage.demo import CONSENT

IDENTITY_SECRET = b"demo-identity-secret"
CHAT = {"queue": "support", "name": "Cora Customer", "email": "cora@example.com", "question": "Where is my order?"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(r: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert error["field"] == field, error


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# ---- health and metrics ------------------------------------------------------------------------

async def test_healthz_reports_engine_and_database_ok(engine: Engine) -> None:
    async with engine.http() as http:
        r = await http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


async def test_metrics_on_loopback_expose_the_engine_series(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        await accept_next(a1, chat["conversation_id"])
        await a1.send_text(chat["conversation_id"], "Hello")
        async with engine.http() as http:
            r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    for series in ("frontdesk_queue_waiting", "frontdesk_agents", "frontdesk_offers_total",
                   "frontdesk_message_latency_seconds", "frontdesk_commit_latency_seconds"):
        assert f"# TYPE {series.removesuffix('_total')} " in r.text or f"# TYPE {series} " in r.text, series
        assert re.search(rf"^{series}(_count|_bucket)?[{{ ]", r.text, re.M), series
    assert re.search(r"^frontdesk_message_latency_seconds_count [1-9]", r.text, re.M)


# ---- sign-in -----------------------------------------------------------------------------------

async def test_agent_login_returns_a_token_and_the_agent(engine: Engine) -> None:
    async with engine.http() as http:
        r = await http.post("/api/agents/login", json={"email": "agent1@demo.test", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "agent"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    me = body["agent"]
    assert set(me) == {"id", "name", "email", "capacity", "queues"}
    assert is_uuid(me["id"])
    assert (me["name"], me["email"], me["capacity"]) == ("Agent One", "agent1@demo.test", 3)
    assert sorted(me["queues"]) == ["after-hours", "messages", "support"]


async def test_login_email_is_case_insensitive_and_each_login_gets_a_new_token(engine: Engine) -> None:
    first = await engine.login("agent3@demo.test")
    second = await engine.login("AGENT3@demo.test")
    assert first["token"] != second["token"]
    assert first["agent"] == second["agent"]
    assert sorted(first["agent"]["queues"]) == ["sales", "support"]


async def test_supervisor_login_has_the_same_shape_under_supervisor(engine: Engine) -> None:
    body = await engine.login("supervisor@demo.test", kind="supervisors")
    assert set(body) == {"token", "supervisor"}
    me = body["supervisor"]
    assert set(me) == {"id", "name", "email", "capacity", "queues"}
    assert is_uuid(me["id"]) and me["email"] == "supervisor@demo.test"


@pytest.mark.parametrize(("path", "email", "password"), [
    pytest.param("/api/agents/login", "agent1@demo.test", "wrong-password", id="wrong-password"),
    pytest.param("/api/agents/login", "nobody@demo.test", PASSWORD, id="unknown-email"),
    pytest.param("/api/supervisors/login", "agent1@demo.test", PASSWORD, id="agent-at-supervisor-endpoint"),
    pytest.param("/api/agents/login", "supervisor@demo.test", PASSWORD, id="supervisor-at-agent-endpoint"),
])
async def test_bad_credentials_are_401_without_telling_which_part_was_wrong(
        engine: Engine, path: str, email: str, password: str) -> None:
    async with engine.http() as http:
        r = await http.post(path, json={"email": email, "password": password})
    assert_error(r, 401, "bad_credentials")
    assert r.json()["error"]["message"] == "wrong e-mail or password"
    assert "token" not in r.text


@pytest.mark.parametrize(("content", "status", "code", "field"), [
    pytest.param(b"this is not json", 400, "bad_json", None, id="not-json"),
    pytest.param(b'["agent1@demo.test", "demo-password"]', 400, "bad_json", None, id="json-array"),
    pytest.param(b'"agent1@demo.test"', 400, "bad_json", None, id="json-string"),
    pytest.param(b"", 400, "bad_json", None, id="empty-body"),
    pytest.param(b'{"password": "demo-password"}', 422, "missing_field", "email", id="no-email"),
    pytest.param(b'{"email": "agent1@demo.test"}', 422, "missing_field", "password", id="no-password"),
    pytest.param(b'{"email": "agent1@demo.test", "password": 5}', 422, "invalid_value", "password",
                 id="password-not-a-string"),
])
async def test_malformed_login_body_is_refused(engine: Engine, content: bytes, status: int, code: str,
                                               field: str | None) -> None:
    async with engine.http() as http:
        r = await http.post("/api/agents/login", content=content, headers={"Content-Type": "application/json"})
    assert_error(r, status, code, field)


# ---- queues ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("queue", "expected"), [
    ("support", {"queue": "support", "open": True, "next_open": None, "agents_online": 1, "waiting": 0,
                 "faq_suggestions": True, "required_fields": [], "mode": "live", "consent_notice": None}),
    ("sales", {"queue": "sales", "open": True, "next_open": None, "agents_online": 0, "waiting": 0,
               "faq_suggestions": False, "required_fields": [], "mode": "live", "consent_notice": None}),
    ("after-hours", {"queue": "after-hours", "open": False, "next_open": None, "agents_online": 1, "waiting": 0,
                     "faq_suggestions": False, "required_fields": [], "mode": "live", "consent_notice": None}),
    ("messages", {"queue": "messages", "open": True, "next_open": None, "agents_online": 1, "waiting": 0,
                  "faq_suggestions": False, "required_fields": [], "mode": "messaging",
                  "consent_notice": CONSENT["messages"]}),
])
async def test_queue_state_with_agent1_online(engine: Engine, queue: str, expected: dict[str, Any]) -> None:
    async with agent(engine, 1), engine.http() as http:
        r = await http.get(f"/api/queues/{queue}")
    assert r.status_code == 200, r.text
    body = r.json()
    form, closed_message = body.pop("form"), body.pop("closed_message")   # the pre-chat form's rules
    assert body == {**expected, "transcript_mails": True}
    assert form["name"]["max_chars"] > 0 and form["email"]["required"] is True
    assert isinstance(closed_message, str) and closed_message


async def test_queue_counts_waiting_chats_and_signed_in_agents(engine: Engine) -> None:
    async with agent(engine, 1, presence="away"), engine.http() as http:
        await engine.start_chat()
        await engine.start_chat(email="second@example.com")
        body = (await http.get("/api/queues/support")).json()
    assert body["waiting"] == 2
    assert body["agents_online"] == 1  # signed in, though away: the chats wait for it


async def test_unknown_queue_is_404(engine: Engine) -> None:
    async with engine.http() as http:
        r = await http.get("/api/queues/no-such-queue")
    assert_error(r, 404, "not_found")


# ---- starting chats ----------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["queue", "name", "email", "question"])
@pytest.mark.parametrize("how", ["absent", "blank"])
async def test_chat_without_a_required_field_is_422_missing_field(engine: Engine, missing: str, how: str) -> None:
    body: dict[str, Any] = dict(CHAT)
    if how == "absent":
        del body[missing]
    else:
        body[missing] = "   "
    async with engine.http() as http:
        r = await http.post("/api/chats", json=body)
    assert_error(r, 422, "missing_field", missing)


@pytest.mark.parametrize("email", ["not-an-email", "cora@", "@example.com", "cora example@example.com"])
async def test_chat_with_a_bad_email_is_422_invalid_email(engine: Engine, email: str) -> None:
    async with engine.http() as http:
        r = await http.post("/api/chats", json={**CHAT, "email": email})
    assert_error(r, 422, "invalid_email", "email")


async def test_chat_in_an_unknown_queue_is_404(engine: Engine) -> None:
    async with engine.http() as http:
        r = await http.post("/api/chats", json={**CHAT, "queue": "no-such-queue"})
    assert_error(r, 404, "not_found")


async def test_chat_body_that_is_not_a_json_object_is_400(engine: Engine) -> None:
    async with engine.http() as http:
        r = await http.post("/api/chats", content=b"[]", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_json")


@pytest.mark.parametrize(("queue", "agent_online", "reason"), [
    pytest.param("after-hours", True, "outside_hours", id="after-hours"),
    pytest.param("support", False, "no_agents", id="nobody-online"),
])
async def test_chat_in_a_closed_queue_is_200_closed_with_offline_requests(
        engine: Engine, queue: str, agent_online: bool, reason: str) -> None:
    async with agent(engine, 1) if agent_online else nullcontext(), engine.http() as http:
        r = await http.post("/api/chats", json={**CHAT, "queue": queue})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"status", "reason", "message", "next_open", "offline_requests"}
    assert (body["status"], body["reason"], body["offline_requests"]) == ("closed", reason, True)
    assert isinstance(body["message"], str) and body["message"]


async def test_chat_is_201_queued_with_a_customer_token(engine: Engine) -> None:
    async with agent(engine, 1, presence="away"), engine.http() as http:
        r = await http.post("/api/chats", json=CHAT)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"status", "conversation_id", "customer_token", "position"}
    assert body["status"] == "queued" and body["position"] == 1 and is_uuid(body["conversation_id"])


def identity_hmac(email: str) -> str:
    return hmac.new(IDENTITY_SECRET, email.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(("identity", "customer"), [
    pytest.param({"email": "vip@example.com", "name": "Vera Vip", "hmac": identity_hmac("vip@example.com")},
                 {"name": "Vera Vip", "email": "vip@example.com", "verified": ["email", "name"]},
                 id="valid-with-name"),
    pytest.param({"email": "vip@example.com", "hmac": identity_hmac("vip@example.com")},
                 {"name": "Cora Customer", "email": "vip@example.com", "verified": ["email"]},
                 id="valid-without-name"),
    pytest.param({"email": "vip@example.com", "name": "Vera Vip", "hmac": identity_hmac("other@example.com")},
                 {"name": "Cora Customer", "email": "cora@example.com", "verified": []},
                 id="hmac-of-another-email"),
    pytest.param({"email": "vip@example.com", "name": "Vera Vip", "hmac": "0" * 64},
                 {"name": "Cora Customer", "email": "cora@example.com", "verified": []},
                 id="wrong-hmac"),
    pytest.param({"email": "vip@example.com", "name": "Vera Vip",
                  "hmac": hmac.new(b"another-secret", b"vip@example.com", hashlib.sha256).hexdigest()},
                 {"name": "Cora Customer", "email": "cora@example.com", "verified": []},
                 id="hmac-with-another-secret"),
])
async def test_identity_hmac_verifies_the_customer_in_the_offer(engine: Engine, identity: dict[str, str],
                                                                 customer: dict[str, Any]) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(identity=identity)
        assert chat["status"] == "queued"
        offer = await a1.expect("offer", conversation_id=chat["conversation_id"])
        assert offer["customer"] == customer
        await a1.send({"type": "accept", "offer_id": offer["offer_id"]})
        conv = await a1.expect("conversation", conversation_id=chat["conversation_id"])
        assert conv["customer"] == customer


# ---- offline requests --------------------------------------------------------------------------

async def test_offline_requests_get_unique_increasing_request_numbers(engine: Engine) -> None:
    numbers = []
    async with engine.http() as http:
        for n in range(3):
            r = await http.post("/api/offline-requests", json={**CHAT, "queue": "after-hours",
                                                               "question": f"Please call me back ({n})"})
            assert r.status_code == 201, r.text
            body = r.json()
            assert set(body) == {"request_id", "request_number"} and is_uuid(body["request_id"])
            assert re.fullmatch(r"REQ-\d{6}", body["request_number"]), body
            numbers.append(int(body["request_number"][4:]))
    assert numbers == sorted(set(numbers)) and len(numbers) == 3


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    pytest.param({"question": ""}, 422, "missing_field", "question", id="no-question"),
    pytest.param({"email": "nope"}, 422, "invalid_email", "email", id="bad-email"),
    pytest.param({"queue": "no-such-queue"}, 404, "not_found", None, id="unknown-queue"),
])
async def test_bad_offline_request_is_refused(engine: Engine, change: dict[str, str], status: int, code: str,
                                              field: str | None) -> None:
    async with engine.http() as http:
        r = await http.post("/api/offline-requests", json={**CHAT, **change})
    assert_error(r, status, code, field)


# ---- transcripts -------------------------------------------------------------------------------

@pytest.mark.parametrize(("viewer", "status", "privates"), [
    pytest.param("customer", 200, [False, False], id="own-customer-sees-public-only"),
    pytest.param("agent1", 200, [False, True, False], id="participant-agent-sees-all"),
    pytest.param("supervisor", 200, [False, True, False], id="supervisor-sees-all"),
    pytest.param("agent2", 404, None, id="agent-who-never-took-part"),
    pytest.param("other-customer", 404, None, id="another-customers-token"),
    pytest.param("garbage", 401, None, id="garbage-token"),
    pytest.param("none", 401, None, id="no-token"),
])
async def test_transcript_visibility(engine: Engine, viewer: str, status: int, privates: list[bool] | None) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        await a1.send_text(cid, "customer sounds upset", private=True)
        await a1.send_text(cid, "We are on it")
        other = await engine.start_chat(name="Otto Other", email="otto@example.com")
        tokens = {"customer": chat["customer_token"], "agent1": a1.token,
                  "supervisor": (await engine.login("supervisor@demo.test", kind="supervisors"))["token"],
                  "agent2": (await engine.login("agent2@demo.test"))["token"],
                  "other-customer": other["customer_token"], "garbage": "garbage-token"}
        headers = bearer(tokens[viewer]) if viewer in tokens else {}
        async with engine.http() as http:
            r = await http.get(f"/api/conversations/{cid}/transcript", headers=headers)
            if status == 404:  # the same answer as for a conversation that does not exist
                missing = await http.get(f"/api/conversations/{uuid.uuid4()}/transcript", headers=headers)
                assert missing.status_code == 404 and missing.json() == r.json()
    if privates is None:
        assert_error(r, status, "not_found" if status == 404 else "unauthenticated")
        assert "upset" not in r.text
        return
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["conversation_id"] == cid
    assert [m["private"] for m in body["messages"]] == privates
    assert [m["seq"] for m in body["messages"]] == ([1, 3] if viewer == "customer" else [1, 2, 3])
    assert body["messages"][-1]["text"] == "We are on it"


async def test_tokens_are_stored_only_as_their_sha256(engine: Engine, postgres: Postgres, database_url: str) -> None:
    staff = await engine.login("agent1@demo.test")
    sup = await engine.login("supervisor@demo.test", kind="supervisors")
    async with agent(engine, 1, presence="away"):
        chat = await engine.start_chat()
    raw_tokens = [staff["token"], sup["token"], chat["customer_token"]]
    dbname = re.search(r"@/(\w+)\?", database_url)
    assert dbname is not None
    sql = (f"\\c {dbname[1]}\n"
           "SELECT encode(token_hash, 'hex') AS h, encode(token_hash, 'escape') AS e, kind, subject_id "
           "FROM tokens;\n")
    dump = await trio.to_thread.run_sync(postgres.psql, sql)
    for token in raw_tokens:
        assert token not in dump
        assert hashlib.sha256(token.encode()).hexdigest() in dump
    assert dump.count("customer") >= 1 and dump.count("supervisor") >= 1


# ---- no caching of private answers -------------------------------------------------------------

def assert_private(r: httpx.Response) -> None:
    assert r.headers["cache-control"] == "no-store", (r.request.url, r.headers)
    assert r.headers["x-content-type-options"] == "nosniff", (r.request.url, r.headers)


async def test_every_json_answer_forbids_caching_and_sniffing(engine: Engine) -> None:
    async with agent(engine, 1) as a1, engine.http() as http:
        chat = await engine.start_chat()
        customer = bearer(chat["customer_token"])
        sign_in = await http.post("/api/agents/login", json={"email": "agent2@demo.test", "password": PASSWORD})
        answers = [
            sign_in,
            await http.post("/api/supervisors/login", json={"email": "supervisor@demo.test", "password": PASSWORD}),
            await http.post("/api/agents/login", json={"email": "agent2@demo.test", "password": "wrong"}),
            await http.post("/api/agents/login", content=b"{not json"),
            await http.get("/healthz"),
            await http.get("/api/queues/support"),
            await http.get("/api/queues/no-such-queue"),
            await http.get("/api/faq", params={"queue": "support", "q": "password"}),
            await http.get(f"/api/conversations/{chat['conversation_id']}/transcript", headers=customer),
            await http.get("/api/canned", headers=bearer(a1.token)),
            await http.get("/api/agents", headers=bearer(a1.token)),
            await http.get("/api/offline-requests", headers=bearer(a1.token)),
            await http.get("/api/offline-requests"),
            await http.delete("/api/queues/support"),
            await http.get("/api/no-such-route"),
            await http.post("/api/agents/logout", headers=bearer(sign_in.json()["token"])),
        ]
    assert [r.status_code for r in answers] == [200, 200, 401, 400, 200, 200, 404, 200, 200, 200, 200, 200, 401,
                                                405, 404, 204]
    for r in answers:
        assert_private(r)


# ---- websocket Origin allowlist ----------------------------------------------------------------

async def test_websocket_origin_allowlist(database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, allowed_origins=("https://shop.example",))
    async with running_engine(config) as engine:
        url = engine.ws_url
        with pytest.raises(ConnectionRejected) as refused:
            async with open_websocket_url(url, extra_headers=[(b"Origin", b"https://evil.example")]):
                pass
        assert refused.value.status_code == 403
        info = await engine.login("agent1@demo.test")
        async with open_websocket_url(url, extra_headers=[(b"Origin", b"https://shop.example")]) as ws:
            await ws.send_message(orjson.dumps({"type": "hello", "token": info["token"]}).decode())
            assert orjson.loads(await ws.get_message())["type"] == "welcome"
