"""SQL of supervisors inside live chats (PROTOCOL.md §8): the log of their actions, a conversation
handed to another owner, and the supervisors the Router knows at start."""

from __future__ import annotations

import uuid
from datetime import datetime

from frontdesk.engine.storage.db import Database, Row, Statement

# what a supervisor may do, as the ``supervisor_actions`` table names it
ACTIONS = ("monitor", "unmonitor", "join", "take_over", "reassign", "set_agent_presence")


def log_action(supervisor_id: str, action: str, conversation_id: str | None = None, agent_id: str | None = None,
               detail: str | None = None) -> Statement:
    """One row of the supervisors' log, stored with (or before) what the action changed."""
    assert action in ACTIONS, action
    return ("INSERT INTO supervisor_actions (supervisor_id, action, conversation_id, agent_id, detail) "
            "VALUES ($1, $2, $3, $4, $5)",
            (uuid.UUID(supervisor_id), action, uuid.UUID(conversation_id) if conversation_id else None,
             uuid.UUID(agent_id) if agent_id else None, detail))


def hand_over(conversation_id: str, new_owner_id: str, old_owner_id: str, old_stays: bool,
              at: datetime) -> list[Statement]:
    """``new_owner_id`` owns the conversation; the old owner stays in it as invited, or leaves it."""
    cid, new, old = uuid.UUID(conversation_id), uuid.UUID(new_owner_id), uuid.UUID(old_owner_id)
    old_row: Statement = (
        ("UPDATE participants SET role = 'invited' WHERE conversation_id = $1 AND agent_id = $2", (cid, old))
        if old_stays else
        ("UPDATE participants SET left_at = $3 WHERE conversation_id = $1 AND agent_id = $2", (cid, old, at)))
    return [("UPDATE conversations SET owner_id = $2 WHERE id = $1", (cid, new)),
            old_row,
            ("INSERT INTO participants (conversation_id, agent_id, role, joined_at) VALUES ($1, $2, 'owner', $3) "
             "ON CONFLICT (conversation_id, agent_id) DO UPDATE SET role = 'owner', left_at = NULL",
             (cid, new, at))]


async def all_supervisors(db: Database) -> list[Row]:
    """Every supervisor: one who owns or joined a conversation is restored with it at start."""
    return await db.fetch("SELECT id, name, email, capacity FROM staff WHERE role = 'supervisor'")
