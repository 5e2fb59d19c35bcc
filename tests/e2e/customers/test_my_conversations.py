"""What a signed-in customer sees (PROTOCOL.md §6): its record and all its conversations, newest
activity first, with wire statuses, the last public message and the unread count — and never a
private message, on any path of the account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from accountkit import bearer, signed_in, smtp_fixture  # noqa: F401  (fixture)
from conftest import Client, Engine, accept_next, agent, connect, make_config, running_engine
from mail.smtpkit import Smtp

EMAIL = "cora@example.com"
SECRET = "SECRET-NOTE: she gets 30% off"


@pytest.fixture
async def engine(database_url: str, data_dir: Path, smtp: Smtp) -> AsyncIterator[Engine]:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as e:
        yield e


async def conversations(engine: Engine, token: str, **params: str) -> dict[str, Any]:
    async with engine.http() as http:
        r = await http.get("/api/customers/me/conversations", headers=bearer(token), params=params)
    assert r.status_code == 200, r.text
    assert SECRET not in r.text
    return dict(r.json())


async def unread_becomes(engine: Engine, token: str, count: int) -> None:
    """Poll until the newest conversation has ``count`` unread: a read is stored after the
    Conversation commits it, and nothing tells the account's client; bounded."""
    with trio.fail_after(10):
        while True:
            if (await conversations(engine, token))["conversations"][0]["unread"] == count:
                return
            await trio.sleep(0.05)


async def three_conversations(engine: Engine, a1: Client) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A live chat its agent answered (and noted privately), a chat of the messaging queue with an
    owner and a private note only, and a chat still waiting: created in that order."""
    answered = await engine.start_chat(queue="support", email=EMAIL, question="Where is my order?")
    await accept_next(a1, answered["conversation_id"])
    messaging = await engine.start_chat(queue="messages", email=EMAIL.upper(), question="Can I change my address?")
    await accept_next(a1, messaging["conversation_id"])
    waiting = await engine.start_chat(queue="support", email=EMAIL, question="And my invoice?")
    await a1.expect("offer", conversation_id=waiting["conversation_id"])
    await a1.send_text(answered["conversation_id"], "It ships today, Cora.")
    await a1.send_text(answered["conversation_id"], SECRET, private=True)
    await a1.send_text(messaging["conversation_id"], SECRET, private=True)
    return answered, messaging, waiting


async def test_a_customer_sees_its_conversations_newest_activity_first_without_private_messages(
        engine: Engine, smtp: Smtp) -> None:
    async with agent(engine, 1) as a1:
        answered, messaging, waiting = await three_conversations(engine, a1)
        login = await signed_in(engine, smtp, EMAIL)
        token = login["token"]
        page = await conversations(engine, token)
    assert page["next_cursor"] is None
    listed = page["conversations"]
    assert [c["conversation_id"] for c in listed] == [
        answered["conversation_id"], waiting["conversation_id"], messaging["conversation_id"]]
    by_id = {c["conversation_id"]: c for c in listed}
    first = by_id[answered["conversation_id"]]
    assert (first["status"], first["queue"], first["unread"]) == ("active", "support", 1)
    assert first["last_message"]["text"] == "It ships today, Cora."
    assert first["last_message"]["sender_kind"] == "agent"
    assert first["last_activity_at"] == first["last_message"]["at"]
    # a messaging queue's owned conversation is "open" on the wire; its private note changes nothing
    second = by_id[messaging["conversation_id"]]
    assert (second["status"], second["queue"], second["unread"]) == ("open", "messages", 0)
    assert second["last_message"]["text"] == "Can I change my address?"
    assert second["last_activity_at"] == second["last_message"]["at"]
    third = by_id[waiting["conversation_id"]]
    assert (third["status"], third["unread"], third["last_message"]["seq"]) == ("queued", 0, 1)
    # the shape of the account's websocket welcome, which lists the same conversations
    assert set(first) == {"conversation_id", "status", "queue", "last_message", "unread", "last_activity_at",
                          "last_seq", "customer_read_seq", "rating_score"}
    assert first["rating_score"] is None
    assert set(first["last_message"]) == {"seq", "text", "sender_kind", "at"}


async def test_unread_counts_public_agent_messages_after_what_the_customer_read(engine: Engine, smtp: Smtp) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(queue="support", email=EMAIL)
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            acks = [await a1.send_text(cid, text) for text in ("One", "Two")]
            await a1.send_text(cid, SECRET, private=True)
            token = (await signed_in(engine, smtp, EMAIL))["token"]
            assert (await conversations(engine, token))["conversations"][0]["unread"] == 2
            await cu.send({"type": "read", "conversation_id": cid, "seq": acks[0]["seq"]})
            await unread_becomes(engine, token, 1)
            await cu.send_text(None, "Thanks!")                   # the customer's own message is never unread
            listed = (await conversations(engine, token))["conversations"][0]
            assert (listed["unread"], listed["last_message"]["text"]) == (1, "Thanks!")


async def test_the_list_comes_page_by_page(engine: Engine, smtp: Smtp) -> None:
    async with agent(engine, 1):
        started = [(await engine.start_chat(email=EMAIL, question=f"Question {n}"))["conversation_id"]
                   for n in range(3)]
    token = (await signed_in(engine, smtp, EMAIL))["token"]
    first = await conversations(engine, token, limit="2")
    assert len(first["conversations"]) == 2 and first["next_cursor"]
    rest = await conversations(engine, token, limit="2", cursor=first["next_cursor"])
    assert rest["next_cursor"] is None
    assert [c["conversation_id"] for c in first["conversations"] + rest["conversations"]] == started[::-1]
    async with engine.http() as http:
        r = await http.get("/api/customers/me/conversations", headers=bearer(token), params={"cursor": "x"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "cursor"


async def test_another_customers_conversations_are_not_listed(engine: Engine, smtp: Smtp) -> None:
    async with agent(engine, 1):
        await engine.start_chat(email="otto@example.com")
        mine = await engine.start_chat(email=EMAIL)
    token = (await signed_in(engine, smtp, EMAIL))["token"]
    listed = (await conversations(engine, token))["conversations"]
    assert [c["conversation_id"] for c in listed] == [mine["conversation_id"]]


async def test_no_path_of_the_account_shows_a_private_message(engine: Engine, smtp: Smtp) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(email=EMAIL)
        await accept_next(a1, chat["conversation_id"])
        await a1.send_text(chat["conversation_id"], SECRET, private=True)
        before = len(smtp.catcher.mails)
        login = await signed_in(engine, smtp, EMAIL)
        token = login["token"]
        answers = [str(login)]
        async with engine.http() as http:
            for path in ("/api/customers/me", "/api/customers/me/conversations",
                         "/api/customers/me/conversations?limit=1"):
                r = await http.get(path, headers=bearer(token))
                assert r.status_code == 200
                answers.append(r.text)
            r = await http.post("/api/customers/password", headers=bearer(token), json={"password": "a long password"})
            answers.append(r.text)
            r = await http.post("/api/customers/logout", headers=bearer(token))
            answers.append(r.text)
    mails = smtp.catcher.mails[before:]
    answers += [m.part("text/plain") + m.part("text/html") for m in mails]
    for answer in answers:
        assert SECRET not in answer and "30% off" not in answer
    assert "Where is my order?" in answers[2]      # the public messages are there
