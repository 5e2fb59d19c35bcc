"""Open conversations as stored: the records their actors start from, at start-up and when a
crashed one is restarted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC

from frontdesk.engine.conversations.model import ConversationRecord, Participant, StoredMessage, message_from_row
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Row


async def records_of(db: Database, rows: Sequence[Row]) -> list[ConversationRecord]:
    """The records of these ``conversations`` rows, each with its messages and present participants.

    Raises ``DatabaseError``."""
    ids = [str(r["id"]) for r in rows]
    if not ids:
        return []
    messages: dict[str, list[StoredMessage]] = defaultdict(list)
    for m in await queries.messages_of(db, ids):
        messages[str(m["conversation_id"])].append(message_from_row(m))
    participants: dict[str, dict[str, Participant]] = defaultdict(dict)
    for p in await queries.participants_of(db, ids):
        participants[str(p["conversation_id"])][str(p["agent_id"])] = Participant(
            str(p["agent_id"]), p["name"], p["role"], p["last_read_seq"])
    return [ConversationRecord(str(r["id"]), r["queue"], r["status"], r["customer_name"], r["customer_email"],
                               list(r["customer_verified"]), r["created_at"].astimezone(UTC),
                               messages=messages[str(r["id"])], participants=participants[str(r["id"])],
                               customer_read_seq=r["customer_read_seq"],
                               last_owner_id=str(r["last_owner_id"]) if r["last_owner_id"] else None)
            for r in rows]
