"""Mailer: the outbox actor. Rows of the ``outbox`` table go out over SMTP.

Writers put a mail into ``outbox`` (in their own transaction) and ``nudge`` the Mailer. It
claims one due row at a time with a lease (``queries.claim_due_mails``: its ``next_try_at``
moves past the longest an attempt can take, so neither this loop nor another engine on the
database takes it while the attempt may still succeed), sends it, and marks it ``sent`` or
schedules a retry with exponential backoff (``RETRY_BASE_S`` doubling up to ``RETRY_MAX_S``). A
mail the server refuses for good (SMTP 5xx), or still not sent ``GIVE_UP_AFTER_S`` (five days)
after it was queued, is marked ``failed`` with the error: nothing is lost while the server is
down for less than that. Without ``FRONTDESK_SMTP_URL`` mails stay queued (and are logged), to be
sent once SMTP is configured. Every attempt at one row sends the same Message-ID (the row's id),
so the copy a retry makes of a mail whose answer was lost is recognisable as such.

Error handling: a row that cannot become a mail or be handed to smtplib (a header value the
``email`` package refuses, an encoding error, anything but a cancellation) is poisoned: it is
marked ``failed`` with the error, logged once with its id, and the Mailer goes on with the next
row. A ``DatabaseError`` leaves the rows as they are (a claimed row waits for its lease to run
out) and the Mailer tries again at its next poll.

Timeouts: connecting, the greeting and every command wait ``SMTP_TIMEOUT_S``; the mail's data,
and above all the server's answer to its final dot, wait ``SMTP_DATA_TIMEOUT_S``, the 10 minutes
of RFC 5321 §4.5.3.2 — a mail given up on earlier may still be delivered, and its retry would be
a duplicate.

smtplib is blocking, so each delivery runs in a worker thread; the actor itself only waits.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Row

from .qr import QR_CONTENT_ID, qr_png

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.5
RETRY_MAX_S = 300.0
# RFC 5321 §4.5.4.1: "the give-up time generally needs to be at least 4-5 days". A count of
# attempts would be spent by an SMTP outage of a few hours, and every mail queued in it lost.
GIVE_UP_AFTER_S = 5 * 24 * 3600.0
POLL_S = 5.0                 # look for due rows this often even without a nudge
SMTP_TIMEOUT_S = 15.0        # connecting, the greeting and each command
SMTP_DATA_TIMEOUT_S = 600.0  # the DATA command, the mail's data and the answer to its final dot
# The waits of one attempt: connect, greeting, EHLO, AUTH (two exchanges), MAIL, RCPT and QUIT under
# the command timeout; DATA's answer, the data and the final answer under the data timeout.
COMMAND_WAITS_PER_ATTEMPT = 8
DATA_WAITS_PER_ATTEMPT = 3
BATCH = 20                   # queued mails logged at once while no SMTP is configured
MAX_ERROR_CHARS = 1000
DEFAULT_FROM = Address("Frontdesk", "frontdesk", "localhost")
MESSAGE_ID_DOMAIN = "frontdesk.local"


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


class _Smtp(smtplib.SMTP):
    """smtplib's client with a timeout of its own for the data phase (``data_timeout_s``)."""

    data_timeout_s = SMTP_DATA_TIMEOUT_S

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        assert self.sock is not None
        command_timeout_s = self.sock.gettimeout()
        self.sock.settimeout(self.data_timeout_s)
        try:
            return super().data(msg)
        finally:
            if self.sock is not None:           # smtplib drops the socket when the server hangs up
                self.sock.settimeout(command_timeout_s)


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    """The same over implicit TLS (``smtps://``)."""


def _deliver(target: SmtpTarget, message: EmailMessage, command_timeout_s: float, data_timeout_s: float) -> None:
    smtp_class = _SmtpSsl if target.tls else _Smtp
    kwargs: dict[str, Any] = {"timeout": command_timeout_s}
    if target.tls:
        kwargs["context"] = ssl.create_default_context()
    with smtp_class(target.host, target.port, **kwargs) as smtp:
        smtp.data_timeout_s = data_timeout_s
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


def message_id(mail_id: object) -> str:
    """The Message-ID of an outbox row's mail, the same at every attempt: when a server took a mail
    but its answer was lost, the retry is a copy the recipient's system can recognise (RFC 5322
    §3.6.4: one message, one id), not a second message."""
    return f"<{mail_id}@{MESSAGE_ID_DOMAIN}>"


def parse_mail_from(value: str) -> Address:
    """``FRONTDESK_MAIL_FROM`` (``Name <address>`` or an address) as the From header's address;
    ValueError unless it is exactly one address without CR, LF or other control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"FRONTDESK_MAIL_FROM must be one line, got {value!r}")
    header = HeaderRegistry()("From", value)
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain or header.defects:
        raise ValueError(f"FRONTDESK_MAIL_FROM must be one address like 'Frontdesk <frontdesk@example.com>', "
                         f"got {value!r}")
    return Address(addresses[0].display_name, addresses[0].username, addresses[0].domain)


def build_message(row: Row, sender: Address) -> EmailMessage:
    """The mail of one outbox row. Its headers are made by the ``email`` package, which refuses a
    value that would break out of its header (CR, LF) with ``ValueError``; a recipient that is not
    one address raises ``ValueError`` too. The row's ``sender_name`` (its queue's), when set,
    replaces ``sender``'s display name; the address stays ``sender``'s."""
    message = EmailMessage()
    name = row.get("sender_name")
    message["From"] = Address(name, sender.username, sender.domain) if name else sender
    message["To"] = row["recipient"]
    if len(message["To"].addresses) != 1:
        raise ValueError(f"the recipient {row['recipient']!r} is not one address")
    message["Subject"] = row["subject"]
    message["Message-ID"] = message_id(row["id"])
    message.set_content(row["body_text"])
    if row["body_html"]:
        message.add_alternative(row["body_html"], subtype="html")
        qr_text = row.get("qr_text")
        if qr_text:
            html_part = message.get_body(preferencelist=("html",))
            assert html_part is not None
            html_part.add_related(qr_png(qr_text), "image", "png", cid=f"<{QR_CONTENT_ID}>",
                                  disposition="inline", filename="signin-qr.png")
    return message


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


class Mailer:
    def __init__(self, db: Database, smtp_url: str | None, sender: Address = DEFAULT_FROM, *,
                 command_timeout_s: float = SMTP_TIMEOUT_S, data_timeout_s: float = SMTP_DATA_TIMEOUT_S):
        self._db = db
        self._target = SmtpTarget.parse(smtp_url) if smtp_url else None
        self._sender = sender
        self._timeouts = (command_timeout_s, data_timeout_s)
        # longer than any attempt can take, so a claimed row is never sent twice at once
        self._lease_s = COMMAND_WAITS_PER_ATTEMPT * command_timeout_s + DATA_WAITS_PER_ATTEMPT * data_timeout_s
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
                log.info("mail queued (no SMTP configured): to %r: %r", r["recipient"], r["subject"])
        except DatabaseError as exc:
            log.warning("mailer cannot read the outbox: %s", exc)

    async def _send_due(self) -> float:
        """Send every due row; return how long to sleep until the next one is due."""
        # one row per claim: its lease covers one attempt, not the attempts of the rows before it
        while rows := await queries.claim_due_mails(self._db, 1, self._lease_s):
            for row in rows:
                await self._send_one(row)
        next_due = await queries.seconds_until_next_mail(self._db)
        return POLL_S if next_due is None else max(0.05, min(POLL_S, next_due))

    async def _send_one(self, row: Row) -> None:
        assert self._target is not None
        attempts = row["attempts"] + 1
        try:
            message = build_message(row, self._sender)
            # abandoned on cancellation: the thread finishes the attempt, the lease keeps the row
            await trio.to_thread.run_sync(_deliver, self._target, message, *self._timeouts, abandon_on_cancel=True)
        except PermanentFailure as exc:
            await queries.mark_mail(self._db, row["id"], "failed", attempts, _error_text(exc))
            log.error("mail %s to %r refused: %s", row["id"], row["recipient"], exc)
        except (OSError, smtplib.SMTPException) as exc:
            if (utc_now() - row["created_at"]).total_seconds() >= GIVE_UP_AFTER_S:
                await queries.mark_mail(self._db, row["id"], "failed", attempts, _error_text(exc))
                log.error("mail %s to %r not sent in %d attempts since %s, giving up: %s", row["id"], row["recipient"],
                          attempts, row["created_at"], exc)
                return
            delay = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (attempts - 1))
            await queries.mark_mail(self._db, row["id"], "queued", attempts, _error_text(exc),
                                    utc_now() + timedelta(seconds=delay))
            log.warning("mail %s to %r not sent (attempt %d, next in %.1f s): %s", row["id"], row["recipient"],
                        attempts, delay, exc)
        except Exception as exc:    # the same row would fail the same way again: poisoned, never retried
            await queries.mark_mail(self._db, row["id"], "failed", attempts, _error_text(exc))
            log.error("mail %s cannot be sent, marked failed: %s", row["id"], _error_text(exc), exc_info=exc)
        else:
            await queries.mark_mail(self._db, row["id"], "sent", attempts, None)
