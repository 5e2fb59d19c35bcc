"""A queue's consent notice (PROTOCOL.md §3, the README's API notes): ``GET /api/queues/{queue}``
shows it, and the pre-chat form and the offline request of such a queue need ``"consent": true``;
the time of the consent is stored with the conversation or the request. ``POST /api/chats`` answers
alike on the listener's chat door and on Quart's route (a chat after another request on one
connection), since both parse the one form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from conftest import Engine, agent
from test_chat_door import HEALTHZ, Raw, post

from frontdesk.engine.storage.db import open_database
from frontdesk.engine.storage.demo import CONSENT

FORM = {"queue": "messages", "name": "Mila Meier", "email": "mila@example.com", "question": "Can you help?"}
OFFLINE = {"queue": "messages", "name": "Olga Offline", "email": "olga@example.com", "question": "Call me back."}


async def post_chat(engine: Engine, body: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    """``POST /api/chats`` as the first request of a connection (the chat door) or after another
    one on it (hypercorn and Quart)."""
    raw = await Raw.open(engine)
    try:
        if path == "quart":
            await raw.stream.send_all(HEALTHZ)
            status, _, _ = await raw.response()
            assert status == 200
        await raw.stream.send_all(post(orjson.dumps(body)))
        status, _, reply = await raw.response()
        return status, orjson.loads(reply)
    finally:
        await raw.stream.aclose()


async def consent_at(engine: Engine, table: str, row_id: str) -> datetime | None:
    async with open_database(engine.config.database_url) as db:
        value = await db.fetchval(f"SELECT consent_at FROM {table} WHERE id = $1", uuid.UUID(row_id))
    assert value is None or isinstance(value, datetime)
    return value


def just_now(value: datetime | None) -> bool:
    return value is not None and abs(datetime.now(UTC) - value) < timedelta(minutes=1)


async def test_the_queue_view_shows_its_consent_notice(engine: Engine) -> None:
    async with engine.http() as http:
        messages = (await http.get("/api/queues/messages")).json()
        support = (await http.get("/api/queues/support")).json()
    assert messages["consent_notice"] == CONSENT["messages"] and messages["mode"] == "messaging"
    assert support["consent_notice"] is None and support["mode"] == "live"


@pytest.mark.parametrize("path", ["door", "quart"])
async def test_a_chat_in_a_queue_with_a_notice_needs_consent_and_stores_when(engine: Engine, path: str) -> None:
    async with agent(engine, 1):
        for refused in ({}, {"consent": False}, {"consent": None}):
            status, reply = await post_chat(engine, {**FORM, **refused}, path)
            assert status == 422, reply
            assert reply["error"]["code"] == "missing_field" and reply["error"]["field"] == "consent"
        for wrong in ("yes", 1, [], {"given": True}):
            status, reply = await post_chat(engine, {**FORM, "consent": wrong}, path)
            assert status == 422, reply
            assert reply["error"]["code"] == "invalid_value" and reply["error"]["field"] == "consent"
        # the notice's checkbox comes after the fields the form asks first
        status, reply = await post_chat(engine, {**FORM, "email": "nope"}, path)
        assert (status, reply["error"]["field"]) == (422, "email")

        status, reply = await post_chat(engine, {**FORM, "consent": True}, path)
        assert status == 201 and reply["status"] == "queued", reply
        assert just_now(await consent_at(engine, "conversations", reply["conversation_id"]))

        # a queue without a notice needs none and stores none
        status, reply = await post_chat(engine, {**FORM, "queue": "support"}, path)
        assert status == 201, reply
        assert await consent_at(engine, "conversations", reply["conversation_id"]) is None


async def test_an_offline_request_in_a_queue_with_a_notice_needs_consent(engine: Engine) -> None:
    async with engine.http() as http:
        for refused, code in (({}, "missing_field"), ({"consent": False}, "missing_field"),
                              ({"consent": "true"}, "invalid_value")):
            r = await http.post("/api/offline-requests", json={**OFFLINE, **refused})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == "consent"
        r = await http.post("/api/offline-requests", json={**OFFLINE, "consent": True})
        assert r.status_code == 201, r.text
        assert just_now(await consent_at(engine, "offline_requests", r.json()["request_id"]))

        r = await http.post("/api/offline-requests", json={**OFFLINE, "queue": "after-hours"})
        assert r.status_code == 201, r.text
        assert await consent_at(engine, "offline_requests", r.json()["request_id"]) is None
