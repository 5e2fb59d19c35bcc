"""SQL of ratings (CSAT, PROTOCOL.md §9): one per conversation, by its customer, once the
conversation has ended (live) or been resolved (messaging).

As in ``queries.py``: functions named for a write return a ``Statement`` for the Persister; the
``async`` ones read through ``Database``. The insert re-checks the conversation's status in the
statement itself, so a conversation reopened between the edge's check and the commit stores
nothing, and the unique key on ``conversation_id`` makes a second rating a ``UniqueViolation``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from frontdesk.engine.storage.db import Database, Row, Statement

# what a conversation may be rated in: ended (live) or resolved (messaging)
RATEABLE_STATUSES = ("ended", "resolved")


def _uuid(value: str) -> uuid.UUID | None:
    """A UUID from a client-supplied id, or None when it cannot be one (then it matches nothing)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def insert_rating(rating_id: str, conversation_id: str, score: int, comment: str | None, via: str,
                  at: datetime) -> Statement:
    """The rating, with the conversation's (last) owner and queue; nothing when the conversation is
    not (or no longer) ended or resolved."""
    return ("INSERT INTO ratings (id, conversation_id, score, comment, agent_id, queue, via, created_at) "
            "SELECT $1, c.id, $3, $4, coalesce(c.owner_id, c.last_owner_id), c.queue, $5, $6 "
            "FROM conversations c WHERE c.id = $2 AND c.status = ANY($7::text[])",
            (uuid.UUID(rating_id), uuid.UUID(conversation_id), score, comment, via, at, list(RATEABLE_STATUSES)))


async def rating_of(db: Database, conversation_id: str) -> Row | None:
    cid = _uuid(conversation_id)
    if cid is None:
        return None
    return await db.fetchrow("SELECT score, comment, via, created_at FROM ratings WHERE conversation_id = $1", cid)
