"""Mailer: the outbox actor. Rows of the ``outbox`` table go out over SMTP.

Writers put a mail into ``outbox`` (in their own transaction) and ``nudge`` the Mailer. It
sends every due row, marks it ``sent``, or schedules a retry with exponential backoff
(``RETRY_BASE_S`` doubling up to ``RETRY_MAX_S``); a mail the server refuses for good (SMTP 5xx)
or that failed ``MAX_ATTEMPTS`` times is marked ``failed`` with the error. Without
``FRONTDESK_SMTP_URL`` mails stay queued (and are logged), to be sent once SMTP is configured:
nothing is lost while the server is down.

smtplib is blocking, so each delivery runs in a worker thread; the actor itself only waits.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.5
RETRY_MAX_S = 300.0
MAX_ATTEMPTS = 25            # with the backoff cap: about two hours of trying
POLL_S = 5.0                 # look for due rows this often even without a nudge
SMTP_TIMEOUT_S = 15.0
BATCH = 20
DEFAULT_FROM = "Frontdesk <frontdesk@localhost>"


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"FRONTDESK_SMTP_URL must look like smtp://host:port, got {url!r}")
        tls = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if tls else 25), tls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


class PermanentFailure(Exception):
    """The server refused the mail for good; retrying will not help."""


def _deliver(target: SmtpTarget, message: EmailMessage) -> None:
    smtp_class = smtplib.SMTP_SSL if target.tls else smtplib.SMTP
    kwargs: dict[str, Any] = {"timeout": SMTP_TIMEOUT_S}
    if target.tls:
        kwargs["context"] = ssl.create_default_context()
    with smtp_class(target.host, target.port, **kwargs) as smtp:
        if target.user:
            smtp.login(target.user, target.password or "")
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(str(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise


def build_message(row: Any, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = make_msgid(domain="frontdesk.local")
    message.set_content(row["body_text"])
    if row["body_html"]:
        message.add_alternative(row["body_html"], subtype="html")
    return message


class Mailer:
    def __init__(self, db: Database, smtp_url: str | None, sender: str = DEFAULT_FROM):
        self._db = db
        self._target = SmtpTarget.parse(smtp_url) if smtp_url else None
        self._sender = sender
        self._nudge_send, self._nudge_recv = trio.open_memory_channel[None](1)

    def nudge(self) -> None:
        """A mail was queued: look now (coalesces: one pending nudge is enough)."""
        try:
            self._nudge_send.send_nowait(None)
        except trio.WouldBlock:
            pass

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        if self._target is None:
            log.info("FRONTDESK_SMTP_URL is not set: mails stay queued in the outbox table")
        while True:
            wait_s = POLL_S
            if self._target is not None:
                try:
                    wait_s = await self._send_due()
                except DatabaseError as exc:
                    log.warning("mailer cannot read the outbox: %s", exc)
            else:
                await self._log_queued()
            with trio.move_on_after(wait_s):
                await self._nudge_recv.receive()

    async def _log_queued(self) -> None:
        try:
            for r in await queries.unannounced_queued_mails(self._db, BATCH):
                log.info("mail queued (no SMTP configured): to %s: %s", r["recipient"], r["subject"])
        except DatabaseError as exc:
            log.warning("mailer cannot read the outbox: %s", exc)

    async def _send_due(self) -> float:
        """Send every due row; return how long to sleep until the next one is due."""
        assert self._target is not None
        while rows := await queries.due_mails(self._db, BATCH):
            for row in rows:
                await self._send_one(row)
        next_due = await queries.seconds_until_next_mail(self._db)
        return POLL_S if next_due is None else max(0.05, min(POLL_S, next_due))

    async def _send_one(self, row: Any) -> None:
        assert self._target is not None
        message = build_message(row, self._sender)
        attempts = row["attempts"] + 1
        try:
            await trio.to_thread.run_sync(_deliver, self._target, message)
        except PermanentFailure as exc:
            await queries.mark_mail(self._db, row["id"], "failed", attempts, str(exc)[:1000])
            log.error("mail to %s refused: %s", row["recipient"], exc)
        except (OSError, smtplib.SMTPException) as exc:
            if attempts >= MAX_ATTEMPTS:
                await queries.mark_mail(self._db, row["id"], "failed", attempts, str(exc)[:1000])
                log.error("mail to %s failed %d times, giving up: %s", row["recipient"], attempts, exc)
                return
            delay = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (attempts - 1))
            await queries.mark_mail(self._db, row["id"], "queued", attempts, str(exc)[:1000],
                                    utc_now() + timedelta(seconds=delay))
            log.warning("mail to %s not sent (attempt %d, next in %.1f s): %s", row["recipient"], attempts,
                        delay, exc)
        else:
            await queries.mark_mail(self._db, row["id"], "sent", attempts, None)
