"""Threads written to the database as resolved conversations, in batches.

A batch is whole threads, about ``BATCH_MESSAGES`` messages, stored in ONE transaction with one
``executemany`` per table (``storage/mail_import.py``): a thousand messages are a few round trips,
not thousands. In the transaction the batch first reads which of its messages were imported
before (by ``source_id``): those are left alone, and a thread's mails that were not become a
conversation of their own. Later mails of a thread imported before are never written into its
conversation: the engine takes a resolved conversation up again when its customer comes back,
and its actor numbers the messages from what it loaded, so a seq written beside it would collide
with the next one it stores.

Senders: an agent is stored with ``sender_kind`` 'agent', the id of the staff member with that
address when there is one (else none) and the name of its From header; every other sender is the
customer. Attachments are rows of ``attachments`` bound to their message (uploaded by the sender:
the staff member, else the conversation, as a customer's uploads are), their bytes moved to
``<uploads>/<id>``, and listed in the message as the engine lists them (id, filename,
content_type, size).

Error handling: a batch that fails is rolled back and the files it moved are removed; the
``DatabaseError`` propagates (the batches before it stay committed, and an import run again
adds only what is missing).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from frontdesk.engine.importer.files import Staging
from frontdesk.engine.importer.model import Mail, Thread
from frontdesk.engine.importer.threads import IsAgent
from frontdesk.engine.storage import mail_import
from frontdesk.engine.storage.db import Database
from frontdesk.engine.storage.mail_import import AttachmentRow, ConversationRow, MessageRow

BATCH_MESSAGES = 1000


@dataclass
class Stored:
    """What the import added, and how many of its messages were there before."""

    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    present: int = 0            # messages imported before, left alone


@dataclass
class _Rows:
    conversations: list[ConversationRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    attachments: list[AttachmentRow] = field(default_factory=list)
    files: list[tuple[Path, str]] = field(default_factory=list)     # (staged, attachment id)


class Store:
    def __init__(self, db: Database, queue: str, staff: dict[str, uuid.UUID], is_agent: IsAgent,
                 staging: Staging):
        self._db, self._queue, self._staff, self._is_agent = db, queue, staff, is_agent
        self._staging = staging
        self.stored = Stored()

    async def store(self, threads: Sequence[Thread], done: Callable[[int], None] = lambda n: None) -> Stored:
        """Store ``threads``; ``done(n)`` after each batch with its number of messages."""
        for batch in _batches(threads):
            await self._store_batch(batch)
            done(sum(len(t.mails) for t in batch))
        return self.stored

    async def _store_batch(self, batch: list[Thread]) -> None:
        moved: list[Path] = []
        try:
            async with self._db.transaction() as tx:
                present = await mail_import.imported(tx, [m.source_id for t in batch for m in t.mails])
                rows = _Rows()
                for thread in batch:
                    self._plan(thread, present, rows)
                for staged, attachment_id in rows.files:
                    moved.append(self._staging.keep(staged, attachment_id))
                await mail_import.insert_conversations(tx, rows.conversations)
                await mail_import.insert_messages(tx, rows.messages)
                await mail_import.insert_attachments(tx, rows.attachments)
        except BaseException:
            for path in moved:
                path.unlink(missing_ok=True)
            raise
        s = self.stored
        s.conversations += len(rows.conversations)
        s.messages += len(rows.messages)
        s.attachments += len(rows.attachments)
        s.present += sum(len(t.mails) for t in batch) - len(rows.messages)

    def _plan(self, thread: Thread, present: set[str], rows: _Rows) -> None:
        """The rows that store the mails of ``thread`` not imported before, as a new conversation."""
        new = [m for m in thread.mails if m.source_id not in present]
        if not new:
            return
        conversation_id = uuid.uuid4()
        last_owner: uuid.UUID | None = None
        for seq, mail in enumerate(new, start=1):
            last_owner = self._message(mail, conversation_id, seq, rows) or last_owner
        customer = thread.customer
        rows.conversations.append(ConversationRow(
            conversation_id, self._queue, customer.shown, customer.email,
            # the key a chat arriving then would have had (wall-clock microseconds, as the Router's)
            int(new[0].date.timestamp() * 1_000_000),
            last_owner, len(new), new[0].date, new[-1].date))

    def _message(self, mail: Mail, conversation_id: uuid.UUID, seq: int, rows: _Rows) -> uuid.UUID | None:
        """Add the rows of one mail; the staff id of its sender, if an agent with an account sent it."""
        message_id = uuid.uuid4()
        address = mail.sender.key
        if self._is_agent(address):
            kind, sender_id = "agent", self._staff.get(address)
            # an agent's id scopes its client_ids; one without an account gets a key of its own
            sender_key = str(sender_id) if sender_id else f"agent:{address}"
        else:
            kind, sender_id, sender_key = "customer", None, "customer"
        listed = []
        for a in mail.attachments:
            attachment_id = uuid.uuid4()
            rows.files.append((a.staged, str(attachment_id)))
            rows.attachments.append(AttachmentRow(
                attachment_id, kind, sender_id or conversation_id, a.filename, a.content_type, a.size, a.sha256,
                conversation_id, message_id, mail.date))
            listed.append({"id": str(attachment_id), "filename": a.filename, "content_type": a.content_type,
                           "size": a.size})
        rows.messages.append(MessageRow(message_id, conversation_id, seq, kind, sender_id, mail.sender.shown,
                                        sender_key, mail.text, listed, mail.date, mail.source_id))
        return sender_id


def _batches(threads: Sequence[Thread]) -> Iterator[list[Thread]]:
    batch: list[Thread] = []
    size = 0
    for thread in threads:
        batch.append(thread)
        size += len(thread.mails)
        if size >= BATCH_MESSAGES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
