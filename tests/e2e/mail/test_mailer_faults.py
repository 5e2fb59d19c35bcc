"""The Mailer (engine/mail/mailer.py) against faults: outbox rows that cannot become a mail, a
server slow to acknowledge the final dot, a server that hangs up instead of answering it, a server
that is not there for many attempts, and two Mailers on one database. Over real SMTP
(aiosmtpd on loopback, smtpkit.py) and the test's own PostgreSQL.

Nothing here waits on time: tests wait for a mail's arrival or poll the outbox row (there is no
event for a row changing), bounded.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import Postgres, agent, make_config, running_engine
from smtpkit import Smtp, outbox_until, smtp_fixture, sql_on  # noqa: F401  (fixture)

from frontdesk.engine.mail import mailer as mailer_module
from frontdesk.engine.mail.mailer import GIVE_UP_AFTER_S, SMTP_DATA_TIMEOUT_S, Mailer, message_id
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Row, open_database

HEADER_INJECTION = "E'a@example.com\\r\\nBcc: x@evil.test'"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with open_database(database_url) as database:
        yield database


async def queue_mail(db: Database, recipient: str) -> str:
    mail_id = str(uuid.uuid4())
    sql, args = queries.insert_mail(mail_id, recipient, "Your chat transcript", "Hello", None)
    await db.execute(sql, *args)
    return mail_id


async def row_when(db: Database, mail_id: str, ok: Callable[[Row], bool], timeout: float = 10.0) -> Row:
    with trio.fail_after(timeout):
        while True:
            row = await db.fetchrow("SELECT * FROM outbox WHERE id = $1", uuid.UUID(mail_id))
            assert row is not None
            if ok(row):
                return row
            await trio.sleep(0.05)


async def test_rows_that_cannot_become_a_mail_are_failed_and_the_mailer_goes_on(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp, caplog: pytest.LogCaptureFixture) -> None:
    bad_to, bad_subject, good = (str(uuid.uuid4()) for _ in range(3))
    # as an old engine could have stored them, and due before the good one
    await trio.to_thread.run_sync(postgres.psql, sql_on(database_url, f"""
        INSERT INTO outbox (id, recipient, subject, body_text, next_try_at) VALUES
        ('{bad_to}', {HEADER_INJECTION}, 'Your chat transcript', 'Hello', now() - interval '2 minutes'),
        ('{bad_subject}', 'b@example.com', E'Transcript\\r\\nBcc: x@evil.test', 'Hello',
         now() - interval '1 minute'),
        ('{good}', 'good@example.com', 'Your chat transcript', 'Hello', now());"""))
    await smtp.start()
    caplog.set_level(logging.INFO, logger="frontdesk.engine.mail")
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine:
        (mail,) = await smtp.catcher.wait_for(1)
        assert mail.rcpt_tos == ["good@example.com"]
        rows = await outbox_until(postgres, database_url, lambda rows: all(r["status"] != "queued" for r in rows))
        by_id: dict[str, Any] = {r["id"]: r for r in rows}
        assert by_id[good]["status"] == "sent"
        for poisoned in (bad_to, bad_subject):
            row = by_id[poisoned]
            assert (row["status"], row["attempts"]) == ("failed", 1) and row["last_error"]
            assert len([r for r in caplog.records if poisoned in r.getMessage()]) == 1
        # the engine serves on: a new chat is offered to an agent
        async with agent(engine, 1) as a1:
            chat = await engine.start_chat()
            await a1.expect("offer", conversation_id=chat["conversation_id"])
    assert len(smtp.catcher.mails) == 1


async def test_a_slow_acknowledgement_of_the_final_dot_is_waited_for_and_the_mail_sent_once(
        db: Database, smtp: Smtp) -> None:
    assert SMTP_DATA_TIMEOUT_S == 600.0      # RFC 5321 §4.5.3.2; scaled down below with the others
    smtp.catcher.answer_delay_s = 1.5
    await smtp.start()
    mail_id = await queue_mail(db, "slow@example.com")
    # the answer takes three command timeouts, as 45 s take three of the default 15 s
    mailer = Mailer(db, smtp.url, command_timeout_s=0.5, data_timeout_s=10.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(mailer.run)
        await smtp.catcher.wait_for(1)
        row = await row_when(db, mail_id, lambda row: row["status"] != "queued" or row["attempts"] > 0)
        nursery.cancel_scope.cancel()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)
    assert len(smtp.catcher.mails) == 1


async def test_two_mailers_on_one_database_send_a_due_mail_once(db: Database, smtp: Smtp) -> None:
    smtp.catcher.answer_delay_s = 0.5      # both would be in the middle of sending it
    await smtp.start()
    mail_id = await queue_mail(db, "once@example.com")
    async with trio.open_nursery() as nursery:
        for _ in range(2):
            await nursery.start(Mailer(db, smtp.url).run)
        row = await row_when(db, mail_id, lambda row: row["status"] != "queued")
        nursery.cancel_scope.cancel()
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert len(smtp.catcher.mails) == 1


async def test_a_mail_whose_answer_was_lost_is_sent_again_with_the_same_message_id(
        db: Database, smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailer_module, "RETRY_BASE_S", 0.05)     # the retry comes at once
    smtp.catcher.answers_to_lose = 1
    await smtp.start()
    mail_id = await queue_mail(db, "twice@example.com")
    async with trio.open_nursery() as nursery:
        await nursery.start(Mailer(db, smtp.url).run)
        row = await row_when(db, mail_id, lambda row: row["status"] != "queued")
        nursery.cancel_scope.cancel()
    assert (row["status"], row["attempts"]) == ("sent", 2)
    # the server had the mail twice; its Message-ID tells the recipient's system it is one mail
    assert smtp.catcher.message_ids() == [message_id(mail_id)] * 2


async def test_a_mail_is_given_up_only_days_after_it_was_queued_however_often_it_was_tried(
        db: Database, smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    assert GIVE_UP_AFTER_S == 5 * 24 * 3600      # RFC 5321 §4.5.4.1: "at least 4-5 days"
    monkeypatch.setattr(mailer_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(mailer_module, "RETRY_MAX_S", 0.02)
    young = await queue_mail(db, "young@example.com")
    old = await queue_mail(db, "old@example.com")
    await db.execute("UPDATE outbox SET created_at = now() - interval '5 days 1 minute' WHERE id = $1",
                     uuid.UUID(old))
    async with trio.open_nursery() as nursery:      # the server is not started: nothing listens
        await nursery.start(Mailer(db, smtp.url).run)
        given_up = await row_when(db, old, lambda row: row["status"] != "queued")
        tried = await row_when(db, young, lambda row: row["attempts"] >= 30)
        nursery.cancel_scope.cancel()
    assert (given_up["status"], given_up["attempts"]) == ("failed", 1) and given_up["last_error"]
    assert tried["status"] == "queued"      # past any count of attempts, and waiting for the server
