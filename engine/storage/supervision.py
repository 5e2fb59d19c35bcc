"""SQL of supervisors inside live chats (PROTOCOL.md §8): the log of their actions and the
supervisors the Router knows at start (a conversation handed to another owner is ``queries.hand_over``)."""

from __future__ import annotations

import uuid

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


async def all_supervisors(db: Database) -> list[Row]:
    """Every supervisor: one who owns or joined a conversation is restored with it at start."""
    return await db.fetch("SELECT id, name, email, capacity FROM staff WHERE role = 'supervisor'")
