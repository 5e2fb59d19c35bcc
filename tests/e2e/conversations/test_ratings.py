"""Ratings (PROTOCOL.md §9, §14) over real HTTP: a customer rates an ended live chat or a resolved
messaging conversation once, with its chat token, a link token or its account token; everyone
else gets 404, and every field is checked at the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Client, Engine, accept_next, agent, connect, make_config, metric, running_engine
from customers.accountkit import bearer, signed_in
from mail.smtpkit import Smtp
from mail.smtpkit import smtp_fixture as smtp_fixture

from frontdesk.engine.runtime.config import Limit


async def rate(engine: Engine, cid: str, token: str, body: Any) -> httpx.Response:
    async with engine.http() as http:
        return await http.post(f"/api/conversations/{cid}/rating", headers=bearer(token), json=body)


async def rating_state(engine: Engine, cid: str, token: str) -> httpx.Response:
    async with engine.http() as http:
        return await http.get(f"/api/conversations/{cid}/rating", headers=bearer(token))


async def ended_chat(engine: Engine, a1: Client, **start: Any) -> dict[str, Any]:
    """A live chat agent1 took and then ended."""
    chat = await engine.start_chat(**start)
    cid = chat["conversation_id"]
    await accept_next(a1, cid)
    await a1.send({"type": "end", "conversation_id": cid})
    await a1.expect("ended", conversation_id=cid)
    return chat


async def test_a_customer_rates_an_ended_chat_once_and_the_rating_shows_everywhere(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await ended_chat(engine, a1)
        cid, token = chat["conversation_id"], chat["customer_token"]
        before = await metric(engine, 'frontdesk_ratings_total{score="4"}')
        assert (await rating_state(engine, cid, token)).json() == {"conversation_id": cid, "rating": None,
                                                                   "can_rate": True}
        r = await rate(engine, cid, token, {"score": 4, "comment": "  Quick and kind.\r\nThanks!  "})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["conversation_id"] == cid and body["score"] == 4
        assert body["comment"] == "Quick and kind.\nThanks!" and body["created_at"].endswith("Z")
        again = await rate(engine, cid, token, {"score": 5})
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
        state = (await rating_state(engine, cid, token)).json()
        assert state["can_rate"] is False and state["rating"]["score"] == 4
        async with engine.http() as http:
            seen = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(a1.token))
        assert seen.json()["rating"] == {"score": 4, "comment": "Quick and kind.\nThanks!",
                                         "created_at": body["created_at"]}
        assert await metric(engine, 'frontdesk_ratings_total{score="4"}') == before + 1


async def test_a_chat_that_has_not_ended_cannot_be_rated(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid, token = chat["conversation_id"], chat["customer_token"]
        r = await rate(engine, cid, token, {"score": 3})             # still queued
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_ended"
        await accept_next(a1, cid)
        r = await rate(engine, cid, token, {"score": 3})             # live, with its agent
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_ended"
        assert (await rating_state(engine, cid, token)).json()["can_rate"] is False


@pytest.mark.parametrize(("body", "code", "field"), [
    ({}, "missing_field", "score"),
    ({"score": None}, "missing_field", "score"),
    ({"score": 0}, "invalid_value", "score"),
    ({"score": 6}, "invalid_value", "score"),
    ({"score": -1}, "invalid_value", "score"),
    ({"score": 4.0}, "invalid_value", "score"),
    ({"score": 4.5}, "invalid_value", "score"),
    ({"score": "4"}, "invalid_value", "score"),
    ({"score": True}, "invalid_value", "score"),
    ({"score": [4]}, "invalid_value", "score"),
    ({"score": 4, "comment": 12}, "invalid_value", "comment"),
    ({"score": 4, "comment": {"text": "hi"}}, "invalid_value", "comment"),
    ({"score": 4, "comment": "x" * 2001}, "invalid_value", "comment"),
    ({"score": 4, "comment": "bell\x07"}, "invalid_value", "comment"),
    ({"score": 4, "comment": "tab\there"}, "invalid_value", "comment"),
    ({"score": 4, "comment": "nul\x00"}, "invalid_value", "comment"),
    ({"score": 4, "comment": "line\u2028separator"}, "invalid_value", "comment"),
])
async def test_each_field_of_a_rating_is_checked(engine: Engine, body: dict[str, Any], code: str,
                                                 field: str) -> None:
    async with agent(engine, 1) as a1:
        chat = await ended_chat(engine, a1)
        r = await rate(engine, chat["conversation_id"], chat["customer_token"], body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field
        # nothing was stored: the customer may still rate
        assert (await rating_state(engine, chat["conversation_id"], chat["customer_token"])).json()["can_rate"]


async def test_a_body_that_is_no_object_is_bad_json(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await ended_chat(engine, a1)
        async with engine.http() as http:
            for raw in (b"4", b"[]", b"{", b""):
                r = await http.post(f"/api/conversations/{chat['conversation_id']}/rating", content=raw,
                                    headers={**bearer(chat["customer_token"]), "Content-Type": "application/json"})
                assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json", raw


async def test_another_customers_conversation_is_not_found(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        mine = await ended_chat(engine, a1)
        theirs = await ended_chat(engine, a1, email="dan@example.com", name="Dan")
        r = await rate(engine, theirs["conversation_id"], mine["customer_token"], {"score": 1})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
            r = await rate(engine, unknown, mine["customer_token"], {"score": 1})
            assert r.status_code == 404
        assert (await rating_state(engine, theirs["conversation_id"], mine["customer_token"])).status_code == 404
        # staff do not rate
        r = await rate(engine, mine["conversation_id"], a1.token, {"score": 5})
        assert r.status_code == 403
        async with engine.http() as http:
            r = await http.post(f"/api/conversations/{mine['conversation_id']}/rating", json={"score": 5})
        assert r.status_code == 401
        # the one who may rate still can
        r = await rate(engine, theirs["conversation_id"], theirs["customer_token"], {"score": 2})
        assert r.status_code == 201


@pytest.fixture
async def mail_engine(database_url: str, data_dir: Path, smtp: Smtp) -> AsyncIterator[Engine]:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as e:
        yield e


async def test_a_resolved_messaging_conversation_is_rated_with_a_link_token_or_the_account(
        mail_engine: Engine, smtp: Smtp) -> None:
    engine = mail_engine
    async with agent(engine, 1) as a1:
        first = await engine.start_chat(queue="messages", question="Can I change my address?")
        second = await engine.start_chat(queue="messages", question="And my phone number?")
        for chat in (first, second):
            await accept_next(a1, chat["conversation_id"])
        account = (await signed_in(engine, smtp, "cora@example.com"))["token"]
        async with engine.http() as http:
            made = await http.post(f"/api/conversations/{first['conversation_id']}/link", headers=bearer(account))
        link_token = made.json()["link_token"]

        r = await rate(engine, first["conversation_id"], link_token, {"score": 5})
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_ended"      # open
        for chat in (first, second):
            await a1.send({"type": "set_status", "conversation_id": chat["conversation_id"], "status": "resolved"})
            await a1.expect("status", conversation_id=chat["conversation_id"], status="resolved")

        r = await rate(engine, first["conversation_id"], link_token, {"score": 5, "comment": "Done in a minute"})
        assert r.status_code == 201, r.text
        r = await rate(engine, second["conversation_id"], account, {"score": 2})
        assert r.status_code == 201, r.text
        # a link token belongs to its one conversation
        r = await rate(engine, second["conversation_id"], link_token, {"score": 1})
        assert r.status_code == 404
        async with engine.http() as http:
            listed = (await http.get("/api/customers/me/conversations", headers=bearer(account))).json()
        scores = {c["conversation_id"]: c["rating_score"] for c in listed["conversations"]}
        assert scores == {first["conversation_id"]: 5, second["conversation_id"]: 2}

        # a customer message reopens the conversation; it stays rated once
        async with connect(engine, first["customer_token"], "customer") as cu:
            await cu.send_text(None, "One more thing")
        r = await rate(engine, first["conversation_id"], first["customer_token"], {"score": 1})
        assert r.status_code == 409 and r.json()["error"]["code"] == "already_rated"


async def test_ratings_are_throttled_with_the_customers_messages(database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, rate_limit_per_s=20, rate_limit_burst=40,
                         limit_messages_per_conversation=Limit(2, 600))
    async with running_engine(config) as engine, agent(engine, 1) as a1:
        chat = await ended_chat(engine, a1)
        codes = [(await rate(engine, chat["conversation_id"], chat["customer_token"], {"score": 9})).status_code
                 for _ in range(3)]
        assert codes == [422, 422, 429]
