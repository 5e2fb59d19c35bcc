"""The Notifier: the mail that tells a customer of a messaging conversation that an agent replied
(PROTOCOL.md §7, §14).

A Conversation arms ``conversations.notify_due_at`` when an agent's public message is stored and
the customer has read up to the last notified message; the customer's reading disarms it. The
Notifier claims due rows from the database — a resting conversation needs no actor — and, in one
transaction per conversation, makes a link token (30 days, stored hashed), queues the mail with
the unread public messages and the link, and records what it told (``notified_seq``). Nothing
is mailed about messages the customer has read meanwhile: every statement checks that again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import trio

from frontdesk.core import auth
from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.mail.compose import compose_notification, template_sender_name
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database
from frontdesk.engine.storage.persister import Persister

log = logging.getLogger(__name__)

POLL_S = 1.0                          # how often due notifications are looked for
LINK_TOKEN_TTL = timedelta(days=30)   # PROTOCOL.md §7
BATCH = 50


class Notifier:
    def __init__(self, db: Database, persister: Persister, link_base: str, nudge: Callable[[], None],
                 poll_s: float = POLL_S):
        self._db = db
        self._persister = persister
        self._link_base = link_base
        self._nudge = nudge
        self._poll_s = poll_s
        self.handling: str | None = None       # for the supervisor's log of a crash

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            try:
                if await self.notify_due():
                    self._nudge()
            except DatabaseError as exc:
                log.warning("notifications wait for the database (%s)", exc)
            await trio.sleep(self._poll_s)

    async def notify_due(self) -> int:
        """Queue the mails that are due now; how many."""
        queued = 0
        for row in await queries.due_notifications(self._db, BATCH):
            self.handling = str(row["id"])
            messages = await queries.unread_public_agent_messages(self._db, str(row["id"]), row["customer_read_seq"])
            if not messages:
                await self._persister.write([queries.clear_notification(str(row["id"]))], str(row["id"]))
                continue
            token, token_hash = auth.new_token()
            link = f"{self._link_base}/chat/c/{row['id']}#t={token}"
            subject, text, body_html = compose_notification(
                row["customer_name"], row["queue_title"] or row["queue"], row["language"] or "en", messages, link,
                row["mail_templates"])
            last = messages[-1]["seq"]
            sender = template_sender_name(row["mail_templates"], row["language"] or "en") or row["sender_name"]
            await self._persister.write(queries.record_notification(
                str(row["id"]), row["customer_id"], token_hash, utc_now() + LINK_TOKEN_TTL, str(uuid.uuid4()),
                row["customer_email"], subject, text, body_html, last, sender), str(row["id"]))
            queued += 1
        self.handling = None
        return queued
