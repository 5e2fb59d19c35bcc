"""Open conversations as stored: the records their actors start from, at start-up and when a
crashed one is restarted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC

from frontdesk.engine.conversations.model import (
    ConversationRecord,
    Participant,
    StoredHistory,
    StoredMessage,
    message_from_row,
)
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Row


async def records_of(db: Database, rows: Sequence[Row], newest: int) -> list[ConversationRecord]:
    """The records of these ``conversations`` rows, each with its ``newest`` messages, what the
    database holds of its whole history, and its present participants.

    Raises ``DatabaseError``."""
    ids = [str(r["id"]) for r in rows]
    if not ids:
        return []
    messages: dict[str, list[StoredMessage]] = defaultdict(list)
    for m in await queries.newest_messages_of(db, ids, newest):
        messages[str(m["conversation_id"])].append(message_from_row(m))
    stored: dict[str, StoredHistory] = {}
    for h in await queries.histories_of(db, ids):
        menu = h["menu"]
        stored[str(h["conversation_id"])] = StoredHistory(
            h["question"] or "", h["last_public_seq"],
            tuple((o["id"], o["label"]) for o in menu) if menu else None,
            list(zip(h["key_senders"], h["key_ids"], strict=True)))
    participants: dict[str, dict[str, Participant]] = defaultdict(dict)
    for p in await queries.participants_of(db, ids):
        participants[str(p["conversation_id"])][str(p["agent_id"])] = Participant(
            str(p["agent_id"]), p["name"], p["role"], p["last_read_seq"])
    return [ConversationRecord(str(r["id"]), r["queue"], r["status"], r["customer_name"], r["customer_email"],
                               list(r["customer_verified"]), r["created_at"].astimezone(UTC),
                               messages=messages[str(r["id"])], participants=participants[str(r["id"])],
                               customer_read_seq=r["customer_read_seq"],
                               last_owner_id=str(r["last_owner_id"]) if r["last_owner_id"] else None,
                               stored=stored.get(str(r["id"]), StoredHistory()), language=r.get("language"))
            for r in rows]
