"""Transcript mails over real SMTP (aiosmtpd on loopback), the outbox and the Mailer's retries.

The SMTP server runs in aiosmtpd's own thread; each mail it receives is handed to the trio
loop (``trio.from_thread``) and wakes whoever waits for it, so tests wait on arrival, not on
time. The outbox table is read with psql on the test's own database.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio
from aiosmtpd.controller import Controller
from conftest import Engine, Postgres, accept_next, agent, connect, make_config, running_engine


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        for p in self.message.walk():
            if p.get_content_type() == content_type:
                return str(p.get_content())
        raise AssertionError(f"no {content_type} part in {[p.get_content_type() for p in self.message.walk()]}")


class MailCatcher:
    """aiosmtpd handler: keeps every mail and wakes trio waiters when one arrives."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self._token = trio.lowlevel.current_trio_token()
        self._changed = trio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        mail = Mail(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        try:
            trio.from_thread.run_sync(self._arrived, mail, trio_token=self._token)
        except trio.RunFinishedError:
            pass
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # aiosmtpd hook
                          rcpt_options: list[str]) -> str:
        if address.startswith("bounce@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _arrived(self, mail: Mail) -> None:
        self.mails.append(mail)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Mail]:
        with trio.fail_after(timeout):
            while len(self.mails) < count:
                await self._changed.wait()
        return self.mails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Smtp:
    port: int
    catcher: MailCatcher
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        # a plain asyncio loop of its own: the engine's trio-asyncio policy refuses to make one here
        self.controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port,
                                     loop=asyncio.SelectorEventLoop())
        await trio.to_thread.run_sync(self.controller.start)

    async def stop(self) -> None:
        if self.controller is not None:
            await trio.to_thread.run_sync(self.controller.stop)
            self.controller = None


@pytest.fixture
async def smtp() -> AsyncIterator[Smtp]:
    """A port for an SMTP server that is *not* started yet (tests start it when they want it)."""
    server = Smtp(free_port(), MailCatcher())
    try:
        yield server
    finally:
        await server.stop()


def sql_on(database_url: str, sql: str) -> str:
    """psql input that runs ``sql`` on the test's database and prints bare values."""
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    return f"\\set QUIET on\n\\c {name[1]}\n\\pset tuples_only on\n\\pset format unaligned\n{sql}\n"


async def outbox(postgres: Postgres, database_url: str) -> list[dict[str, Any]]:
    out = await trio.to_thread.run_sync(postgres.psql, sql_on(
        database_url, "SELECT coalesce(json_agg(o ORDER BY created_at), '[]') FROM outbox o;"))
    return list(json.loads(out))


async def outbox_until(postgres: Postgres, database_url: str, ok: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll the outbox (there is no event for a row changing) until ``ok(rows)``; bounded."""
    with trio.fail_after(timeout):
        while True:
            rows = await outbox(postgres, database_url)
            if ok(rows):
                return rows
            await trio.sleep(0.1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def minute(at: str, tz: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


async def test_end_with_transcript_email_mails_public_messages_in_the_queues_time_zone(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await trio.to_thread.run_sync(postgres.psql, sql_on(
        database_url, "UPDATE queues SET opening_hours = '{\"always\": true, \"timezone\": \"Europe/Berlin\"}' "
                      "WHERE name = 'sales';"))
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine, \
            agent(engine, 4) as a4:
        chat = await engine.start_chat(queue="sales", email="mara@example.com", name="Mara Müller",
                                       question="Can I get a quote?")
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            conv = await accept_next(a4, cid)
            first_at = conv["messages"][0]["at"]
            async with engine.http() as http:
                r = await http.post("/api/uploads", headers=bearer(a4.token),
                                    files={"file": ("price list.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
                assert r.status_code == 201, r.text
                pdf_id = r.json()["attachment_id"]
            await a4.send_text(cid, "SECRET-NOTE: give her 30% off", private=True)
            ack = await a4.send_text(cid, "Here is our <b>price list</b>", attachments=[pdf_id])
            reply = await cu.expect("message", seq=ack["seq"])
            await cu.send_text(None, "Danke schön!")
            await cu.send({"type": "end", "transcript_email": True})
            await cu.expect("ended", conversation_id=cid)

        (mail,) = await smtp.catcher.wait_for(1)
        assert mail.rcpt_tos == ["mara@example.com"]
        assert mail.message["To"] == "mara@example.com" and mail.message["Subject"]
        assert mail.message.get_content_type() == "multipart/alternative"
        text, page = mail.part("text/plain"), mail.part("text/html")
        for body in (text, page):
            assert "Can I get a quote?" in body and "Danke schön!" in body and "Agent Four" in body
            assert "price list.pdf" in body
            assert "SECRET" not in body and "30% off" not in body
            assert "Europe/Berlin" in body
            assert minute(first_at, "Europe/Berlin") in body and minute(reply["at"], "Europe/Berlin") in body
        assert "Here is our <b>price list</b>" in text
        assert "Here is our &lt;b&gt;price list&lt;/b&gt;" in page   # customer text is escaped in HTML
        # Berlin is never UTC+0: the UTC wall clock must not be what the mail shows
        assert minute(first_at, "UTC") not in text
        rows = await outbox_until(postgres, database_url, lambda rows: rows and rows[0]["status"] == "sent")
        assert len(rows) == 1 and rows[0]["attempts"] == 1


async def test_transcript_email_endpoint_is_for_the_customer_of_the_chat(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine, \
            agent(engine, 1) as a1:
        chat = await engine.start_chat(email="cora@example.com")
        cid = chat["conversation_id"]
        other = await engine.start_chat(email="otto@example.com")
        async with connect(engine, chat["customer_token"], "customer"):
            await accept_next(a1, cid)
            await a1.send_text(cid, "internal remark", private=True)
            await a1.send_text(cid, "Your parcel left today")
        url = f"/api/conversations/{cid}/transcript-email"
        async with engine.http() as http:
            assert (await http.post(url, headers=bearer(a1.token))).status_code == 403
            assert (await http.post(url, headers=bearer(other["customer_token"]))).status_code == 404
            assert (await http.post(url)).status_code == 401
            r = await http.post(url, headers=bearer(chat["customer_token"]))
            assert r.status_code == 202, r.text
        (mail,) = await smtp.catcher.wait_for(1)
        assert mail.rcpt_tos == ["cora@example.com"]
        text = mail.part("text/plain")
        assert "Your parcel left today" in text and "Where is my order?" in text
        assert "internal remark" not in text and "internal remark" not in mail.part("text/html")
        # the refused requests queued nothing
        assert [r["recipient"] for r in await outbox(postgres, database_url)] == ["cora@example.com"]


async def test_mail_waits_while_smtp_is_down_and_is_sent_when_it_comes_back(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine:
        async with agent(engine, 1, presence="away"):
            chat = await engine.start_chat()
        async with engine.http() as http:
            r = await http.post(f"/api/conversations/{chat['conversation_id']}/transcript-email",
                                headers=bearer(chat["customer_token"]))
            assert r.status_code == 202
        # nothing listens on the port: the first attempt fails and a retry is scheduled
        rows = await outbox_until(postgres, database_url, lambda rows: rows and rows[0]["attempts"] >= 1)
        assert rows[0]["status"] == "queued" and rows[0]["last_error"]
        assert smtp.catcher.mails == []
        await smtp.start()
        (mail,) = await smtp.catcher.wait_for(1, timeout=15)
        assert mail.rcpt_tos == ["cora@example.com"] and "Where is my order?" in mail.part("text/plain")
        rows = await outbox_until(postgres, database_url, lambda rows: rows[0]["status"] == "sent")
        assert rows[0]["attempts"] >= 2 and rows[0]["sent_at"]
        # sent once: no duplicate arrives afterwards
        async with engine.http() as http:
            assert (await http.get("/healthz")).status_code == 200
        assert len(smtp.catcher.mails) == 1


async def test_without_smtp_the_mail_stays_queued_in_the_outbox(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    assert engine.config.smtp_url is None
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(email="quinn@example.com", question="Is my mail queued?")
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            await a1.send_text(cid, "private: check later", private=True)
            await cu.send({"type": "end", "transcript_email": True})
            await cu.expect("ended", conversation_id=cid)
    rows = await outbox_until(postgres, database_url, lambda rows: len(rows) == 1)
    row = rows[0]
    assert row["recipient"] == "quinn@example.com" and row["status"] == "queued" and row["last_error"] is None
    assert "Is my mail queued?" in row["body_text"] and "Is my mail queued?" in row["body_html"]
    assert "check later" not in row["body_text"] and "check later" not in row["body_html"]
    assert row["sent_at"] is None


async def test_mail_the_server_refuses_for_good_is_marked_failed_and_not_retried(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine:
        async with agent(engine, 1, presence="away"):
            bounce = await engine.start_chat(email="bounce@example.com")
            fine = await engine.start_chat(email="fine@example.com")
        async with engine.http() as http:
            for chat in (bounce, fine):
                r = await http.post(f"/api/conversations/{chat['conversation_id']}/transcript-email",
                                    headers=bearer(chat["customer_token"]))
                assert r.status_code == 202
        (mail,) = await smtp.catcher.wait_for(1)
        assert mail.rcpt_tos == ["fine@example.com"]
        rows = await outbox_until(postgres, database_url,
                                  lambda rows: len(rows) == 2 and all(r["status"] != "queued" for r in rows))
        by_to = {r["recipient"]: r for r in rows}
        assert by_to["fine@example.com"]["status"] == "sent"
        failed = by_to["bounce@example.com"]
        assert failed["status"] == "failed" and failed["attempts"] == 1 and "550" in failed["last_error"]
