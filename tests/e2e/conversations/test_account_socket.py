"""A signed-in customer's websocket (PROTOCOL.md §6): one ``welcome`` lists every conversation of
the customer with its status and unread count and never a private message; frames name their
conversation; a resting messaging conversation is woken by writing in it; another customer's
conversation is ``not_found``. The account token is stored as the sign-in route stores it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import Engine, accept_next, agent, connect, make_config, running_engine

from frontdesk.core import auth
from frontdesk.core.wire import utc_now
from frontdesk.engine.storage.db import open_database


async def account_token(database_url: str, email: str) -> str:
    token, token_hash = auth.new_token()
    async with open_database(database_url) as db:
        customer_id = await db.fetchval("SELECT id FROM customers WHERE lower(email) = lower($1)", email)
        await db.execute("INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
                         "VALUES ($1, 'account', $2, $2, $3)", token_hash, customer_id, utc_now() + timedelta(hours=1))
    return token


async def chat(engine: Engine, queue: str, email: str, question: str) -> dict[str, str]:
    return await engine.start_chat(queue=queue, email=email, name="Ada Account", question=question)


async def test_a_signed_in_customer_sees_every_conversation_and_writes_in_a_resting_one(
        database_url: str, data_dir: Path) -> None:
    async with running_engine(make_config(database_url, data_dir)) as engine, agent(engine, 1) as a1:
        live = await chat(engine, "support", "ada@example.com", "A live question")
        await accept_next(a1, live["conversation_id"])
        await a1.send_text(live["conversation_id"], "PRIVATE: check her refund", private=True)
        later = await chat(engine, "messages", "ADA@example.com", "A question that can wait")
        lid = later["conversation_id"]
        await accept_next(a1, lid)
        await a1.send_text(lid, "We will look into it.")
        await a1.send({"type": "set_status", "conversation_id": lid, "status": "pending"})
        await a1.expect("status", conversation_id=lid)
        stranger = await chat(engine, "support", "someone@example.com", "Not Ada's")
        token = await account_token(database_url, "ada@example.com")

        async with connect(engine, token, "Ada signed in") as ada:
            assert ada.info["role"] == "customer" and ada.info["customer"]["email"] == "ada@example.com"
            listed = {c["conversation_id"]: c for c in ada.info["conversations"]}
            assert set(listed) == {live["conversation_id"], lid}
            assert listed[lid]["status"] == "pending" and listed[lid]["unread"] == 1
            assert listed[lid]["last_message"]["text"] == "We will look into it."
            assert listed[live["conversation_id"]]["last_message"]["text"] == "A live question"   # not the note
            # a live chat's events reach the account's socket too
            reply = await a1.send_text(live["conversation_id"], "Your refund is on its way.")
            got = await ada.expect("message", conversation_id=live["conversation_id"], seq=reply["seq"])
            assert got["text"] == "Your refund is on its way."
            # frames name their conversation; someone else's is not found
            await ada.send({"type": "send", "client_id": "c1", "text": "no conversation named"})
            assert (await ada.expect("error"))["field"] == "conversation_id"
            await ada.send({"type": "send", "client_id": "c2", "text": "hi",
                            "conversation_id": stranger["conversation_id"]})
            assert (await ada.expect("error", ref="c2"))["code"] == "not_found"
            # writing in the resting conversation wakes and reopens it, back to the same agent
            await ada.send({"type": "send", "client_id": "c3", "text": "Any news?", "conversation_id": lid})
            ack = await ada.expect("ack", client_id="c3")
            assert ack["conversation_id"] == lid
            reopened = await ada.expect("status", conversation_id=lid)
            assert reopened["status"] == "queued"
            offer = await a1.expect("offer", conversation_id=lid)
            assert offer["question"] == "Any news?"
        assert str(uuid.UUID(lid)) == lid


async def test_a_signed_in_customer_opens_a_conversation_with_a_link_token_for_it_alone(
        database_url: str, data_dir: Path) -> None:
    async with running_engine(make_config(database_url, data_dir)) as engine, agent(engine, 1):
        own = await chat(engine, "messages", "lea@example.com", "Mine")
        other = await chat(engine, "messages", "max@example.com", "Not mine")
        token = await account_token(database_url, "lea@example.com")
        async with engine.http() as http:
            def post(cid: str, bearer: str) -> Any:
                return http.post(f"/api/conversations/{cid}/link", headers={"Authorization": f"Bearer {bearer}"})
            r = await post(own["conversation_id"], token)
            assert r.status_code == 201, r.text
            opened = r.json()
            assert opened["path"] == f"/chat/c/{own['conversation_id']}#t={opened['link_token']}"
            assert (await post(other["conversation_id"], token)).status_code == 404
            assert (await post(own["conversation_id"], own["customer_token"])).status_code == 403
        resume = {own["conversation_id"]: 0}
        async with connect(engine, opened["link_token"], "the conversation page", resume=resume) as page:
            assert page.info["conversation"]["conversation_id"] == own["conversation_id"]
            assert (await page.expect("message", seq=1))["text"] == "Mine"
