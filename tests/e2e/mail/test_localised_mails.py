"""Transcript and offline-request mails in the customer's language, over real SMTP (aiosmtpd,
smtpkit.py): the pre-chat form's ``language`` first, else the customer record's, English
otherwise; plain text and HTML both localised, what people typed escaped in HTML, the sender
named by the queue's template in that language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import trio
from conftest import Postgres, accept_next, agent, connect, make_config, running_engine
from smtpkit import Smtp, smtp_fixture, sql_on  # noqa: F401  (fixture)


def plain(text: str) -> str:
    """A text part as composed: SMTP carries its lines with CRLF."""
    return text.replace("\r\n", "\n")


def german_minute(at: str, tz: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


async def test_a_german_customer_gets_a_german_transcript(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await trio.to_thread.run_sync(postgres.psql, sql_on(
        database_url, "UPDATE queues SET opening_hours = '{\"always\": true, \"timezone\": \"Europe/Berlin\"}', "
                      "mail_templates = '{\"de\": {\"sender_name\": \"Vertrieb\"}}' WHERE name = 'sales';"))
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine, \
            agent(engine, 4) as a4:
        chat = await engine.start_chat(queue="sales", email="mara@example.com", name="Mara <Müller>",
                                       question="Was kostet das?", language="de")
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            conv = await accept_next(a4, cid)
            first_at = conv["messages"][0]["at"]
            await a4.send_text(cid, "NUR-INTERN: Rabatt geben", private=True)
            ack = await a4.send_text(cid, "Das kostet <b>10 €</b>.")
            await cu.expect("message", seq=ack["seq"])
            await cu.send({"type": "end", "transcript_email": True})
            await cu.expect("ended", conversation_id=cid)

        (mail,) = await smtp.catcher.wait_for(1)
        started = german_minute(first_at, "Europe/Berlin")
        assert mail.message["Subject"] == f"Ihr Chatverlauf ({started})"
        assert str(mail.message["From"]).startswith("Vertrieb <")
        text, page = plain(mail.part("text/plain")), mail.part("text/html")
        assert text.startswith("Hallo Mara <Müller>,\n\nhier ist der Verlauf Ihres Chats vom "
                               f"{started} (Europe/Berlin).")
        assert f"[{started}] Mara <Müller>: Was kostet das?" in text
        assert "Das kostet <b>10 €</b>." in text and "Vielen Dank, dass Sie sich an uns gewandt haben." in text
        assert "Hallo Mara &lt;Müller&gt;," in page and "Das kostet &lt;b&gt;10 €&lt;/b&gt;." in page
        assert '<html lang="de">' in page and "Vielen Dank, dass Sie sich an uns gewandt haben." in page
        for body in (text, page):
            assert "NUR-INTERN" not in body and "Hello" not in body and "transcript" not in body


async def test_the_customer_records_language_applies_when_the_form_gives_none(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await trio.to_thread.run_sync(postgres.psql, sql_on(
        database_url, "INSERT INTO customers (id, name, email, language) "
                      "VALUES (gen_random_uuid(), 'Dora Deutsch', 'dora@example.com', 'de-AT');"))
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine:
        async with agent(engine, 1, presence="away"):
            chat = await engine.start_chat(email="dora@example.com", name="Dora Deutsch")
            english = await engine.start_chat(email="dora@example.com", name="Dora Deutsch", language="en")
        async with engine.http() as http:
            for started in (chat, english):
                r = await http.post(f"/api/conversations/{started['conversation_id']}/transcript-email",
                                    headers={"Authorization": f"Bearer {started['customer_token']}"})
                assert r.status_code == 202, r.text
        mails = await smtp.catcher.wait_for(2)
        subjects = sorted(m.message["Subject"] for m in mails)
        assert subjects[0].startswith("Ihr Chatverlauf (") and subjects[1].startswith("Your chat transcript (")


async def test_offline_confirmations_follow_the_form_then_the_customer_record(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await trio.to_thread.run_sync(postgres.psql, sql_on(
        database_url, "INSERT INTO customers (id, name, email, language) "
                      "VALUES (gen_random_uuid(), 'Dora Deutsch', 'dora@example.com', 'de');"))
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine:
        numbers = {}
        async with engine.http() as http:
            for email, language in (("greta@example.com", "de"), ("dora@example.com", None),
                                    ("emma@example.com", None)):
                body = {"queue": "support", "name": "Kunde <x>", "email": email, "question": "Rückruf <bitte>"}
                if language:
                    body["language"] = language
                r = await http.post("/api/offline-requests", json=body)
                assert r.status_code == 201, r.text
                numbers[email] = r.json()["request_number"]
            bad = await http.post("/api/offline-requests", json={**body, "language": "de\r\nBcc: x"})
            assert bad.status_code == 422 and bad.json()["error"]["field"] == "language"
        mails = {m.rcpt_tos[0]: m for m in await smtp.catcher.wait_for(3)}
        for email in ("greta@example.com", "dora@example.com"):
            mail = mails[email]
            assert mail.message["Subject"] == f"Wir haben Ihre Anfrage {numbers[email]} erhalten"
            assert plain(mail.part("text/plain")).startswith("Hallo Kunde <x>,\n\nvielen Dank für Ihre Nachricht.")
            assert "Ihre Nachricht:\nRückruf <bitte>" in plain(mail.part("text/plain"))
            assert "Hallo Kunde &lt;x&gt;," in mail.part("text/html")
            assert "Rückruf &lt;bitte&gt;" in mail.part("text/html")
        assert mails["emma@example.com"].message["Subject"] == f"We received your request {numbers['emma@example.com']}"
