"""Transcript mails over real SMTP (aiosmtpd on loopback, tests/e2e/mail/smtpkit.py), the outbox
and the Mailer's retries. Tests wait on a mail's arrival, not on time; the outbox table is read
with psql on the test's own database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import trio
from conftest import Engine, Postgres, accept_next, agent, connect, make_config, running_engine
from smtpkit import Smtp, outbox, outbox_until, smtp_fixture, sql_on  # noqa: F401  (fixture)


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
