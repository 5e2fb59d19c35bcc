"""Outbox: mails to customers put into the ``outbox`` table, for the Mailer to send.

A mail is durable before anyone is told it is queued: it goes into ``outbox`` through the
Persister, in the same transaction as what caused it where there is such a thing (an offline
request and its confirmation), then the Mailer is nudged to look at once.

Mails are in the customer's language: a conversation's (``queries.conversation_language``: its
pre-chat form's, else the customer record's), or for an offline request the form's, else that of
the customer record with its address; English otherwise. The queue's template in that language may
name the sender (``template_sender_name``), else the queue's ``sender_name`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk.core import hours
from frontdesk.engine.mail.compose import compose_offline_confirmation, compose_transcript, template_sender_name
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Statement
from frontdesk.engine.storage.persister import Persister


def offline_confirmation(email: str, request_number: str, name: str, question: str,
                         sender_name: str | None = None, language: str = "en",
                         templates: dict[str, Any] | None = None) -> Statement:
    """The outbox row confirming an offline request (to commit with the request itself) in the
    customer's ``language``; from the sender name of the queue's template in it, else ``sender_name``."""
    return queries.insert_mail(str(uuid.uuid4()), email,
                               *compose_offline_confirmation(request_number, name, question, language),
                               sender_name=template_sender_name(templates, language) or sender_name)


class Outbox:
    def __init__(self, db: Database, persister: Persister, nudge: Callable[[], None]):
        """``nudge``: tells the Mailer a mail was queued (``Mailer.nudge``)."""
        self._db = db
        self._persister = persister
        self.nudge = nudge

    async def transcript(self, conversation_id: str) -> str | None:
        """Queue the transcript mail of ``conversation_id``: ``queued``, ``off`` when its queue sends
        no transcript mails, None if it does not exist.

        Raises ``DatabaseError`` when it could not be read or stored."""
        conversation = await queries.conversation(self._db, conversation_id)
        if conversation is None:
            return None
        queue = await queries.queue(self._db, conversation["queue"])
        if queue is not None and not queue["transcript_mails"]:
            return "off"
        tz = ZoneInfo("UTC")
        if queue is not None:
            try:
                tz = ZoneInfo(hours.parse_schedule(queue["opening_hours"]).timezone)
            except hours.ScheduleError:
                pass
        messages = await queries.messages_of(self._db, [conversation_id])
        language = await queries.conversation_language(self._db, conversation_id) or "en"
        subject, text, body_html = compose_transcript(conversation, messages, tz, language)
        sender = (template_sender_name(queue["mail_templates"], language) or queue["sender_name"]) if queue else None
        await self._persister.write([queries.insert_mail(str(uuid.uuid4()), conversation["customer_email"], subject,
                                                         text, body_html, sender)])
        self.nudge()
        return "queued"
