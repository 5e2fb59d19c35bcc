"""SQL of ``frontdesk import-mail`` (``engine/importer/``): what it looks up, and the rows it writes
in batches, each table's rows with one ``executemany`` inside the batch's transaction.

Imported conversations are ``resolved``, dated by their mails, and read to their last message
(``customer_read_seq``, ``notified_seq``): old mail neither counts as unread nor sends a
notification. The ``conversations`` trigger links each to the customer with its e-mail address,
making one when there is none (``schema.sql``). Messages carry ``imported`` and their
``source_id`` (unique), which is what makes a second import of the same mails add nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from frontdesk.engine.storage.db import Database, Transaction


class ConversationRow(NamedTuple):
    id: uuid.UUID
    queue: str
    customer_name: str
    customer_email: str
    queue_key: int
    last_owner_id: uuid.UUID | None
    last_seq: int
    created_at: datetime
    last_activity_at: datetime


class MessageRow(NamedTuple):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_kind: str
    sender_id: uuid.UUID | None
    sender_name: str
    sender_key: str
    text: str
    attachments: list[dict[str, Any]]
    created_at: datetime
    source_id: str


class AttachmentRow(NamedTuple):
    id: uuid.UUID
    uploader_kind: str
    uploader_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    created_at: datetime


async def queue_exists(db: Database, queue: str) -> bool:
    return await db.fetchval("SELECT EXISTS (SELECT 1 FROM queues WHERE name = $1)", queue) is True


async def staff_by_email(db: Database) -> dict[str, uuid.UUID]:
    """Every staff member's id by lowercased e-mail address."""
    return {r["email"].lower(): r["id"] for r in await db.fetch("SELECT id, email FROM staff")}


async def imported(tx: Transaction, source_ids: Sequence[str]) -> set[str]:
    """The ``source_ids`` of messages imported before."""
    rows = await tx.fetch("SELECT source_id FROM messages WHERE source_id = ANY($1::text[])", list(source_ids))
    return {r["source_id"] for r in rows}


async def insert_conversations(tx: Transaction, rows: Sequence[ConversationRow]) -> None:
    await tx.executemany(
        "INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, last_owner_id, "
        "customer_read_seq, notified_seq, created_at, last_activity_at, resolved_at) "
        "VALUES ($1, $2, 'resolved', $3, $4, $5, $6, $7, $7, $8, $9, $9)", rows)


async def insert_messages(tx: Transaction, rows: Sequence[MessageRow]) -> None:
    await tx.executemany(
        "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, text, "
        "attachments, created_at, imported, source_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11)", rows)


async def insert_attachments(tx: Transaction, rows: Sequence[AttachmentRow]) -> None:
    await tx.executemany(
        "INSERT INTO attachments (id, uploader_kind, uploader_id, filename, content_type, size, sha256, "
        "conversation_id, message_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", rows)

