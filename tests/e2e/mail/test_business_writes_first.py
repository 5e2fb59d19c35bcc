"""The business writes first (PROTOCOL.md §7, ``POST /api/conversations``) with a real engine,
PostgreSQL and SMTP server: the agent owns the new conversation at once, the customer gets the
notification mail with a link, and the customer's answer reaches that agent; who may start one,
in which queues, and what a supervisor's start looks like."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from conftest import Engine, agent, connect, make_config, running_engine
from smtpkit import Smtp, smtp_fixture  # noqa: F401  (fixture)

LINK = re.compile(r"/chat/c/([0-9a-f-]{36})#t=([A-Za-z0-9_-]+)")


async def start(engine: Engine, token: str, **body: Any) -> tuple[int, dict[str, Any]]:
    async with engine.http() as http:
        r = await http.post("/api/conversations", json=body, headers={"Authorization": f"Bearer {token}"})
        return r.status_code, r.json()


async def test_an_agent_starts_a_conversation_the_customer_is_mailed_and_answers_the_same_agent(
        database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await smtp.start()
    config = make_config(database_url, data_dir, smtp_url=smtp.url)
    async with running_engine(config) as engine, agent(engine, 1) as a1:
        status, body = await start(engine, a1.token, email="Nora.Neu@example.com", queue="messages",
                                   text="Your replacement part has shipped.")
        assert status == 201 and body["status"] == "open"
        cid = body["conversation_id"]
        conv = await a1.expect("conversation", conversation_id=cid)
        assert conv["status"] == "open" and conv["messages"][0]["text"] == "Your replacement part has shipped."
        (mail,) = await smtp.catcher.wait_for(1)
        assert [r.lower() for r in mail.rcpt_tos] == ["nora.neu@example.com"]
        assert "Your replacement part has shipped." in mail.part("text/plain")
        found = LINK.search(mail.part("text/plain"))
        assert found is not None and found.group(1) == cid
        async with connect(engine, found.group(2), "customer", resume={cid: 0}) as cu:
            assert cu.info["conversation"]["status"] == "open"
            await cu.expect("message", seq=1)
            answer = await cu.send_text(None, "Great, thank you!")
            got = await a1.expect("message", conversation_id=cid, seq=answer["seq"])
            assert got["text"] == "Great, thank you!"


async def test_who_may_start_a_conversation_and_where(database_url: str, data_dir: Path) -> None:
    async with running_engine(make_config(database_url, data_dir)) as engine:
        agent4 = (await engine.login("agent4@demo.test"))["token"]     # not a member of 'messages'
        agent1 = (await engine.login("agent1@demo.test"))["token"]
        supervisor = (await engine.login("supervisor@demo.test", "supervisors"))["token"]
        status, body = await start(engine, agent4, email="x@example.com", queue="messages", text="hi")
        assert (status, body["error"]["code"], body["error"]["field"]) == (403, "forbidden", "queue")
        status, body = await start(engine, agent1, email="x@example.com", queue="support", text="hi")
        assert (status, body["error"]["field"]) == (422, "queue")
        status, body = await start(engine, agent1, customer_id=str(uuid.uuid4()), queue="messages", text="hi")
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, body = await start(engine, agent1, email="x@example.com\r\nBcc: y@evil.test", queue="messages",
                                   text="hi")
        assert (status, body["error"]["code"]) == (422, "invalid_email")
        status, body = await start(engine, agent1, queue="messages", text="hi")
        assert (status, body["error"]["field"]) == (422, "customer_id")
        # a supervisor's conversation waits for the customer's answer, which goes into the queue
        status, body = await start(engine, supervisor, email="sam@example.com", queue="messages",
                                   text="Can we help you with your order?")
        assert status == 201 and body["status"] == "pending"
        customer_id = body["customer_id"]
        status, again = await start(engine, agent1, customer_id=customer_id, queue="messages", text="Follow-up")
        assert status == 201 and again["customer_id"] == customer_id
