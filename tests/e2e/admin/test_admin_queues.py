"""Administration of queues and canned messages (PROTOCOL.md §10, §14) through the HTTP API: each
route's success, 409, 422 naming the field, 403 to agents and 404; a new queue and a changed one
serve customers within 2 s without a restart; transcript mails follow the queue's switch; mails go
out under the queue's sender name; every change is audited (the identity secret masked)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from adminkit import admin_of, assert_error, bearer, sql_rows
from conftest import Engine, Postgres, agent, connect

from frontdesk.engine.mail.mailer import DEFAULT_FROM, build_message

NEW_QUEUE = {"name": "billing", "title": "Billing", "mode": "live", "required_fields": ["order_number"],
             "faq_suggestions": True, "transcript_mails": True, "retention_days": 365,
             "identity_secret": "a-secret-of-twenty-chars", "sender_name": "Billing team",
             "mail_templates": {"de": {"subject": "Neue Antwort ({queue})"}}}


async def _wait_for_queue(engine: Engine, name: str, ok: Any) -> float:
    """Seconds until ``GET /api/queues/{name}`` answers what ``ok`` accepts (at most 2)."""
    started = trio.current_time()
    async with engine.http() as http:
        with trio.fail_after(2):
            while True:
                r = await http.get(f"/api/queues/{name}")
                if r.status_code == 200 and ok(r.json()):
                    return trio.current_time() - started
                await trio.sleep(0.01)


async def test_a_new_queue_serves_chats_to_its_members_within_two_seconds(engine: Engine) -> None:
    async with engine.http() as http, agent(engine, 4) as a4:
        admin = await admin_of(engine, http)
        r = await admin.call("POST", "/api/queues", {**NEW_QUEUE, "members": [a4.info["id"]]})
        assert r.status_code == 201, r.text
        billing = r.json()
        assert billing["members"] == [a4.info["id"]] and billing["required_fields"] == ["order_number"]
        assert billing["identity_secret"] == "a-secret-of-twenty-chars" and billing["sender_name"] == "Billing team"
        delay = await _wait_for_queue(engine, "billing", lambda q: q["agents_online"] == 1)
        print(f"new queue served {delay * 1000:.0f} ms after the POST answered")
        async with engine.http() as c:
            missing = await c.post("/api/chats", json={"queue": "billing", "name": "Cora", "email": "cora@example.com",
                                                        "question": "Invoice?"})
            assert_error(missing, 422, "missing_field", "fields.order_number")
        chat = await engine.start_chat("billing", fields={"order_number": "A-1"})
        await a4.expect("offer", conversation_id=chat["conversation_id"])
        listed = (await admin.call("GET", "/api/queues")).json()["queues"]
        assert [q["name"] for q in listed] == ["after-hours", "billing", "messages", "sales", "support"]


async def test_changing_a_queue_applies_at_once(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        r = await admin.call("PATCH", "/api/queues/sales", {"required_fields": ["customer_no"], "mode": "messaging",
                                                            "faq_suggestions": True, "transcript_mails": False})
        assert r.status_code == 200, r.text
        assert r.json()["mode"] == "messaging" and r.json()["transcript_mails"] is False
        await _wait_for_queue(engine, "sales", lambda q: q["required_fields"] == ["customer_no"]
                              and q["mode"] == "messaging" and q["faq_suggestions"] and not q["transcript_mails"])
        agent3 = await admin.agent_id("agent3@demo.test")
        r = await admin.call("PATCH", "/api/queues/sales", {"members": [agent3]})
        assert r.json()["members"] == [agent3]
        agents = (await admin.call("GET", "/api/agents")).json()["agents"]
        assert next(a for a in agents if a["email"] == "agent4@demo.test")["queues"] == []


async def test_a_queue_without_transcript_mails_refuses_the_transcript_and_sends_none(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with engine.http() as http, agent(engine, 1) as a1, agent(engine, 4) as a4:
        admin = await admin_of(engine, http)
        assert (await admin.call("PATCH", "/api/queues/support", {"transcript_mails": False})).status_code == 200
        await _wait_for_queue(engine, "support", lambda q: q["transcript_mails"] is False)
        chat = await engine.start_chat()
        r = await http.post(f"/api/conversations/{chat['conversation_id']}/transcript-email",
                            headers=bearer(chat["customer_token"]))
        assert_error(r, 409, "conflict")
        async with connect(engine, chat["customer_token"], "customer") as customer:
            await a1.expect("offer", conversation_id=chat["conversation_id"])
            await customer.send({"type": "end", "transcript_email": True})
            await customer.expect("ended")
        # a queue with transcript mails on, ended the same way just after, gets its mail
        other = await engine.start_chat("sales", email="other@example.com")
        async with connect(engine, other["customer_token"], "other customer") as customer:
            await a4.expect("offer", conversation_id=other["conversation_id"])
            await customer.send({"type": "end", "transcript_email": True})
            await customer.expect("ended")
        with trio.fail_after(5):
            while not await sql_rows(postgres, database_url, "SELECT 1 FROM outbox WHERE recipient = "  # noqa: ASYNC110
                                                             "'other@example.com'"):
                await trio.sleep(0.05)
        assert await sql_rows(postgres, database_url, "SELECT 1 FROM outbox WHERE recipient = 'cora@example.com'") \
            == []


@pytest.mark.parametrize(("body", "field", "code"), [
    ({**NEW_QUEUE, "name": "Billing Team"}, "name", "invalid_value"),
    ({k: v for k, v in NEW_QUEUE.items() if k != "name"}, "name", "missing_field"),
    ({**NEW_QUEUE, "mode": "email"}, "mode", "invalid_value"),
    ({**NEW_QUEUE, "required_fields": ["order number"]}, "required_fields[0]", "invalid_value"),
    ({**NEW_QUEUE, "required_fields": "order_number"}, "required_fields", "invalid_value"),
    ({**NEW_QUEUE, "faq_suggestions": 1}, "faq_suggestions", "invalid_value"),
    ({**NEW_QUEUE, "transcript_mails": "off"}, "transcript_mails", "invalid_value"),
    ({**NEW_QUEUE, "retention_days": 0}, "retention_days", "invalid_value"),
    ({**NEW_QUEUE, "identity_secret": "short"}, "identity_secret", "invalid_value"),
    ({**NEW_QUEUE, "sender_name": "Billing\r\nBcc: all@example.com"}, "sender_name", "invalid_value"),
    ({**NEW_QUEUE, "mail_templates": {"de": {"subject": "a\nb"}}}, "mail_templates.de.subject", "invalid_value"),
    ({**NEW_QUEUE, "mail_templates": {"de": {"footer": "x"}}}, "mail_templates.de.footer", "invalid_value"),
    ({**NEW_QUEUE, "mail_templates": {"xx": {"subject": "x"}}}, "mail_templates", "invalid_value"),
    ({**NEW_QUEUE, "members": ["00000000-0000-0000-0000-000000000000"]}, "members[0]", "invalid_value"),
    ({**NEW_QUEUE, "members": ["agent1"]}, "members[0]", "invalid_value"),
    ({**NEW_QUEUE, "colour": "red"}, "colour", "invalid_value"),
])
async def test_creating_a_queue_refuses_each_wrong_field_by_name(engine: Engine, body: dict[str, Any], field: str,
                                                                 code: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        assert_error(await admin.call("POST", "/api/queues", body), 422, code, field)


async def test_queue_routes_answer_409_403_and_404(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        assert_error(await admin.call("POST", "/api/queues", {"name": "support"}), 409, "duplicate", "name")
        assert_error(await admin.call("PATCH", "/api/queues/nowhere", {"mode": "live"}), 404, "not_found")
        assert_error(await admin.call("PATCH", "/api/queues/support", {"name": "other"}), 422, "invalid_value",
                     "name")
        for method, path, body in [("GET", "/api/queues", None), ("POST", "/api/queues", NEW_QUEUE),
                                   ("PATCH", "/api/queues/support", {"mode": "live"})]:
            assert_error(await admin.as_agent(method, path, body), 403, "forbidden")
            assert_error(await http.request(method, path, json=body), 401, "unauthenticated")


async def test_queue_changes_are_audited_with_the_secret_masked(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        await admin.call("PATCH", "/api/queues/support", {"identity_secret": "a-new-secret-for-support",
                                                          "faq_suggestions": False})
        entry = (await admin.call("GET", "/api/audit")).json()["entries"][0]
        assert entry["action"] == "queue.update" and entry["target"] == "support"
        assert entry["before"]["faq_suggestions"] is True and entry["after"]["faq_suggestions"] is False
        assert entry["before"]["identity_secret"] == entry["after"]["identity_secret"] == "********"
        assert "a-new-secret-for-support" not in str(entry) and "demo-identity-secret" not in str(entry)


async def test_mails_go_out_under_the_queues_sender_name_and_the_configured_address(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        await admin.call("PATCH", "/api/queues/after-hours", {"sender_name": "Night shift"})
        with trio.fail_after(2):      # the queue's settings reach the offline route by NOTIFY
            while True:
                r = await http.post("/api/offline-requests", json={"queue": "after-hours", "name": "Cora",
                                                                   "email": "cora@example.com", "question": "Hi"})
                assert r.status_code == 201
                row = (await sql_rows(postgres, database_url, "SELECT id, recipient, subject, body_text, body_html, "
                                      "sender_name FROM outbox ORDER BY created_at DESC LIMIT 1"))[0]
                if row["sender_name"] == "Night shift":
                    break
        message = build_message(row, DEFAULT_FROM)
        assert str(message["From"]) == "Night shift <frontdesk@localhost>"


# ---- canned messages ------------------------------------------------------------------------

async def test_canned_messages_are_created_changed_and_deleted_and_agents_see_them(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        r = await admin.call("POST", "/api/canned", {"title": "Thanks", "queue": "support",
                                                     "text": "Thank you {customer_name}, {agent_name} of {queue}."})
        assert r.status_code == 201, r.text
        canned = r.json()
        assert canned["queue"] == "support" and "{customer_name}" in canned["text"]
        seen = (await admin.as_agent("GET", "/api/canned")).json()["canned"]
        assert any(c["id"] == canned["id"] for c in seen)
        r = await admin.call("PATCH", f"/api/canned/{canned['id']}", {"title": "Thank you", "queue": None})
        assert r.status_code == 200 and r.json()["queue"] is None and r.json()["title"] == "Thank you"
        every = (await admin.call("GET", "/api/canned")).json()["canned"]
        assert any(c["title"] == "Thank you" for c in every)
        assert (await admin.call("DELETE", f"/api/canned/{canned['id']}")).status_code == 204
        assert_error(await admin.call("DELETE", f"/api/canned/{canned['id']}"), 404, "not_found")
        actions = [e["action"] for e in (await admin.call("GET", "/api/audit")).json()["entries"][:3]]
        assert actions == ["canned.delete", "canned.update", "canned.create"]


async def test_canned_routes_refuse_wrong_fields_duplicates_agents_and_unknown_ids(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        for body, field, code in [({"title": "", "text": "x"}, "title", "missing_field"),
                                  ({"title": "T", "text": ""}, "text", "missing_field"),
                                  ({"title": "T", "text": "x" * 10_001}, "text", "invalid_value"),
                                  ({"title": "T", "text": "x", "queue": "nowhere"}, "queue", "invalid_value"),
                                  ({"title": "T\n2", "text": "x"}, "title", "invalid_value"),
                                  ({"title": "T", "text": "x", "shared": True}, "shared", "invalid_value")]:
            assert_error(await admin.call("POST", "/api/canned", body), 422, code, field)
        assert_error(await admin.call("POST", "/api/canned", {"title": "greeting", "text": "Hi"}), 409, "duplicate",
                     "title")
        assert_error(await admin.as_agent("POST", "/api/canned", {"title": "T", "text": "x"}), 403, "forbidden")
        assert_error(await admin.call("PATCH", "/api/canned/00000000-0000-0000-0000-000000000000", {"title": "T"}),
                     404, "not_found")
        assert_error(await admin.call("PATCH", "/api/canned/nope", {"title": "T"}), 404, "not_found")


async def test_the_mail_preview_composes_the_queues_notification_in_a_language(engine: Engine) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        r = await admin.call("POST", "/api/queues/support/mail-preview",
                             {"language": "de", "mail_templates": {"de": {"subject": "Antwort von {queue}",
                                                                          "sender_name": "Support-Team"}}})
        assert r.status_code == 200, r.text
        preview = r.json()
        assert preview["subject"] == "Antwort von Support" and preview["sender_name"] == "Support-Team"
        assert "Hallo Cora Customer," in preview["text"] and "<p>" in preview["html"]
        assert_error(await admin.call("POST", "/api/queues/support/mail-preview", {"language": "fr"}), 422,
                     "invalid_value", "language")
        assert_error(await admin.call("POST", "/api/queues/nowhere/mail-preview", {"language": "en"}), 404,
                     "not_found")
        assert_error(await admin.as_agent("POST", "/api/queues/support/mail-preview", {"language": "en"}), 403,
                     "forbidden")
