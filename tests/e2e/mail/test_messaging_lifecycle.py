"""A messaging queue's conversation through its whole life (PROTOCOL.md §7, §14), with a real
engine, PostgreSQL and SMTP server: it outlives the customer's page, the agent's reply is mailed
once with a link (public messages only), the link opens it in another browser with its history,
the owner sets it pending, the customer's message reopens it to the same agent first, an unread
customer message reminds the owner, and the customer's ``end`` resolves it. While it rests with
nobody attached it is rows only: no Conversation actor is left running (``/metrics``)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import trio
from conftest import Engine, accept_next, agent, connect, make_config, metric, running_engine
from smtpkit import Smtp, smtp_fixture  # noqa: F401  (fixture)

from frontdesk.engine.storage.db import open_database

LINK = re.compile(r"http://[^\s\"<]+/chat/c/([0-9a-f-]{36})#t=([A-Za-z0-9_-]+)")


async def status_of(database_url: str, conversation_id: str) -> str:
    async with open_database(database_url) as db:
        return str(await db.fetchval("SELECT status FROM conversations WHERE id = $1", uuid.UUID(conversation_id)))


async def live_conversations(engine: Engine, expected: float) -> None:
    """Wait until ``expected`` Conversation actors run (an actor returns a moment after its last socket)."""
    with trio.fail_after(5):
        while await metric(engine, 'frontdesk_live_actors{actor="conversation"}') != expected:  # noqa: ASYNC110
            await trio.sleep(0.02)


async def test_a_messaging_conversation_outlives_the_page_is_mailed_with_a_link_and_reopens_to_its_agent(
        database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await smtp.start()
    config = make_config(database_url, data_dir, smtp_url=smtp.url, customer_grace_ms=100,
                         notify_after_s=0.2, agent_remind_after_s=0.3, public_url="http://frontdesk.example")
    async with running_engine(config) as engine, agent(engine, 1) as a1, agent(engine, 2) as a2:
        chat = await engine.start_chat(queue="messages", email="mila@example.com", name="Mila Meier",
                                       question="Can you check my invoice?", consent=True)
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer tab") as cu:
            first = await a1.expect_one_of({"offer"})
            owner, other = (a1, a2) if first["conversation_id"] == cid else (a2, a1)
            if owner is a1:
                await a1.send({"type": "accept", "offer_id": first["offer_id"]})
                conv = await a1.expect("conversation", conversation_id=cid)
            else:
                conv = await accept_next(a2, cid)
            assert conv["status"] == "open"
            await cu.expect("participant_joined", conversation_id=cid)
        # the page is closed for longer than the grace: a messaging conversation does not end
        await owner.send_text(cid, "INTERNAL: customer owes 12 EUR", private=True)
        reply = await owner.send_text(cid, "Your invoice is corrected.")
        (mail,) = await smtp.catcher.wait_for(1)
        assert mail.rcpt_tos == ["mila@example.com"]
        text, page = mail.part("text/plain"), mail.part("text/html")
        for body in (text, page):
            assert "Your invoice is corrected." in body and "INTERNAL" not in body and "12 EUR" not in body
        found = LINK.search(text)
        assert found is not None and found.group(1) == cid
        link_token = found.group(2)
        assert await status_of(database_url, cid) == "active"

        # the owner sets it aside: every participant hears it, the conversation rests
        await owner.send({"type": "set_status", "conversation_id": cid, "status": "pending"})
        status = await owner.expect_one_of({"status", "error"})
        assert status.get("type") == "status", status
        assert status["status"] == "pending" and status["by"] == "agent"
        assert await status_of(database_url, cid) == "pending"
        await live_conversations(engine, 0)     # nobody attached: it rests as rows

        # the link opens it anywhere, with its whole public history
        async with open_database(database_url) as db, \
                connect(engine, link_token, "another browser", resume={cid: 0}) as linked:
            assert linked.info["conversation"]["status"] == "pending"
            await live_conversations(engine, 1)     # woken by the link
            got = await linked.expect("message", seq=reply["seq"])
            assert got["text"] == "Your invoice is corrected."
            seen = [f for f in linked.seen if f.get("type") == "message"]
            assert all(not f["private"] and "INTERNAL" not in f["text"] for f in seen)
            # writing again reopens it, offered to its last owner first though the other agent is free;
            # the message and the reopening are one commit: once acked, it waits in the queue
            await linked.send_text(None, "Thanks, one more question")
            assert await db.fetchval("SELECT status FROM conversations WHERE id = $1", uuid.UUID(cid)) == "queued"
            reopened = await linked.expect("status", conversation_id=cid)
            assert reopened["status"] == "queued"
            again = await owner.expect("offer", conversation_id=cid)
            await owner.send({"type": "accept", "offer_id": again["offer_id"]})
            back = await owner.expect("conversation", conversation_id=cid)
            assert back["status"] == "open"
            # a customer message the owner leaves unread brings a reminder
            await linked.send_text(None, "Hello?")
            reminder = await owner.expect("reminder", conversation_id=cid)
            assert reminder["unread"] >= 1 and reminder["since"]
            # the customer's end resolves it
            await linked.send({"type": "end"})
            resolved = await owner.expect("status", conversation_id=cid)
            assert resolved == {**resolved, "status": "resolved", "by": "customer"}
        assert not [f for f in other.seen if f.get("conversation_id") == cid and f.get("type") == "offer"]
        assert await status_of(database_url, cid) == "resolved"
        await live_conversations(engine, 0)
