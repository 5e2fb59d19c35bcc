"""FAQ entries and opening hours through the administration API (PROTOCOL.md §10): each route's
success, 403 to agents, 401 without a token, 404, 409 and 422 naming the field; customers' FAQ
suggestions and the queue's opening state follow at once; every change is audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import trio
from adminkit import admin_of, assert_error, sql_rows
from conftest import Engine, Postgres


async def test_faq_entries_are_created_listed_changed_and_deleted_with_audit(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        r = await admin.call("POST", "/api/faq", {"queue": "support", "question": "Do you ship abroad?",
                                                 "answer": "Yes, to every EU country."})
        assert r.status_code == 201, r.text
        entry = r.json()
        assert entry["queue"] == "support" and entry["language"] == "english"
        faq_id = entry["id"]

        listed = (await admin.call("GET", "/api/faq?queue=support")).json()["entries"]
        assert faq_id in [e["id"] for e in listed] and all(e["queue"] == "support" for e in listed)
        everything = (await admin.call("GET", "/api/faq")).json()["entries"]
        assert len(everything) >= len(listed)
        # customers find it at once (suggestions are on for support in the demo data)
        found = (await http.get("/api/faq", params={"queue": "support", "q": "ship abroad"})).json()["results"]
        assert found[0]["id"] == faq_id

        r = await admin.call("PATCH", f"/api/faq/{faq_id}", {"answer": "Yes, worldwide.", "queue": "sales"})
        assert r.status_code == 200, r.text
        assert r.json()["answer"] == "Yes, worldwide." and r.json()["question"] == "Do you ship abroad?"
        assert r.json()["queue"] == "sales"

        r = await admin.call("DELETE", f"/api/faq/{faq_id}")
        assert r.status_code == 204
        assert_error(await admin.call("DELETE", f"/api/faq/{faq_id}"), 404, "not_found")
        assert_error(await admin.call("PATCH", f"/api/faq/{faq_id}", {"answer": "x"}), 404, "not_found")

    audit = await sql_rows(postgres, database_url,
                           "SELECT action, target, actor_id::text AS actor, before, after FROM audit_log ORDER BY at")
    assert [(a["action"], a["target"]) for a in audit] == [("faq.create", faq_id), ("faq.update", faq_id),
                                                          ("faq.delete", faq_id)]
    assert all(a["actor"] == admin.id for a in audit)
    assert audit[1]["before"]["queue"] == "support" and audit[1]["after"]["queue"] == "sales"
    assert audit[2]["after"] is None and audit[2]["before"]["answer"] == "Yes, worldwide."


async def test_faq_routes_refuse_agents_and_bad_fields(engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        good = {"queue": "support", "question": "Opening times?", "answer": "Nine to five."}
        for method, path, body in (("GET", "/api/faq", None), ("POST", "/api/faq", good),
                                   ("PATCH", "/api/faq/00000000-0000-0000-0000-000000000000", {"answer": "x"}),
                                   ("DELETE", "/api/faq/00000000-0000-0000-0000-000000000000", None)):
            assert_error(await admin.as_agent(method, path, body), 403, "forbidden")
            assert_error(await http.request(method, path, json=body, headers={"Authorization": "Bearer nope"}),
                         401, "unauthenticated")
        assert_error(await http.post("/api/faq", json=good), 401, "unauthenticated")

        for body, status, code, field in (
                ({**good, "question": ""}, 422, "missing_field", "question"),
                ({"queue": "support", "question": "Q?"}, 422, "missing_field", "answer"),
                ({**good, "queue": None}, 422, "missing_field", "queue"),
                ({**good, "queue": "nowhere"}, 422, "invalid_value", "queue"),
                ({**good, "question": "two\nlines"}, 422, "invalid_value", "question"),
                ({**good, "question": "Q" * 501}, 422, "invalid_value", "question"),
                ({**good, "answer": "A" * 5001}, 422, "invalid_value", "answer"),
                ({**good, "answer": 7}, 422, "invalid_value", "answer"),
                ({**good, "colour": "red"}, 422, "invalid_value", "colour")):
            assert_error(await admin.call("POST", "/api/faq", body), status, code, field)
        r = await admin.call("POST", "/api/faq", good)
        assert r.status_code == 201
        assert_error(await admin.call("POST", "/api/faq", {**good, "question": "OPENING TIMES?"}),
                     409, "duplicate", "question")
        assert_error(await admin.call("PATCH", f"/api/faq/{r.json()['id']}", {"queue": "nowhere"}),
                     422, "invalid_value", "queue")
        assert_error(await admin.call("PATCH", "/api/faq/not-an-id", {"answer": "x"}), 404, "not_found")
        # a queue whose language this PostgreSQL cannot stem takes no entries
        name = urlsplit(database_url).path.lstrip("/")
        await trio.to_thread.run_sync(postgres.psql, f"\\set ON_ERROR_STOP on\n\\c {name}\n"
                                                     "UPDATE queues SET language = 'klingon' WHERE name = 'sales';\n")
        assert_error(await admin.call("POST", "/api/faq", {**good, "queue": "sales"}), 422, "invalid_value", "queue")
        # customers' search is unchanged: anyone, with or without a token, as long as it has q
        assert (await admin.as_agent("GET", "/api/faq?queue=support&q=opening")).status_code == 200
    audit = await sql_rows(postgres, database_url, "SELECT action FROM audit_log")
    assert [a["action"] for a in audit] == ["faq.create"]


async def _queue_state(http: Any, name: str, ok: Any) -> dict[str, Any]:
    with trio.fail_after(2):
        while True:
            r = await http.get(f"/api/queues/{name}")
            if ok(r.json()):
                return dict(r.json())
            await trio.sleep(0.01)


async def test_opening_hours_and_closed_message_apply_at_once_and_are_audited(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with engine.http() as http:
        admin = await admin_of(engine, http)
        assert (await http.get("/api/queues/support")).json()["open"] is True
        r = await admin.call("PATCH", "/api/queues/support", {
            "opening_hours": {"never": True}, "closed_message": "Back on Monday!"})
        assert r.status_code == 200, r.text
        assert r.json()["opening_hours"] == {"never": True, "timezone": "UTC"}    # canonical
        assert r.json()["closed_message"] == "Back on Monday!"
        await _queue_state(http, "support", lambda q: q["open"] is False)
        closed = await http.post("/api/chats", json={"queue": "support", "name": "Cora", "email": "cora@example.com",
                                                     "question": "Hello?"})
        assert closed.json()["status"] == "closed" and closed.json()["message"] == "Back on Monday!"

        week = {"timezone": "Europe/Berlin", "weekly": {day: [["00:00", "24:00"]] for day in
                                                        ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
        r = await admin.call("PATCH", "/api/queues/support", {"opening_hours": week})
        assert r.status_code == 200, r.text
        await _queue_state(http, "support", lambda q: q["open"] is True)

        for hours, field in (({"timezone": "Mars/Olympus_Mons"}, "opening_hours.timezone"),
                             ({"timezone": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}},
                              "opening_hours.weekly.mon[0]"),
                             ({"timezone": "UTC", "holidays": ["2026-02-30"]}, "opening_hours.holidays[0]"),
                             ({"always": True, "weekly": {}}, "opening_hours.weekly"),
                             ([], "opening_hours")):
            assert_error(await admin.call("PATCH", "/api/queues/support", {"opening_hours": hours}),
                         422, "invalid_value", field)
        assert_error(await admin.call("PATCH", "/api/queues/support", {"closed_message": " "}),
                     422, "missing_field", "closed_message")
        assert_error(await admin.call("PATCH", "/api/queues/support", {"closed_message": "x" * 1001}),
                     422, "invalid_value", "closed_message")
        assert_error(await admin.as_agent("PATCH", "/api/queues/support", {"opening_hours": {"never": True}}),
                     403, "forbidden")
        assert (await http.get("/api/queues/support")).json()["open"] is True
    audit = await sql_rows(postgres, database_url, "SELECT action, target, before, after FROM audit_log ORDER BY at")
    assert [(a["action"], a["target"]) for a in audit] == [("queue.update", "support")] * 2
    assert audit[0]["before"]["opening_hours"] == {"always": True}
    assert audit[0]["after"]["closed_message"] == "Back on Monday!"
    assert audit[1]["after"]["opening_hours"]["timezone"] == "Europe/Berlin"
