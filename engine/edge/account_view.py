"""What a signed-in customer sees of their account (PROTOCOL.md §6): the customer and their
conversations, newest activity first, each with its status as the wire names it, its last
public message, the unread count and the score of its rating (``null`` until rated). Plain
functions over rows; private messages never reach them (the queries select public messages only)."""

from __future__ import annotations

from typing import Any

from frontdesk.core.wire import iso


def wire_status(status: str, mode: str) -> str:
    """The database stores an owned conversation as ``active``; messaging queues call it ``open``."""
    return "open" if status == "active" and mode == "messaging" else status


def customer_wire(row: Any) -> dict[str, Any]:
    return {"id": str(row["id"]), "name": row["name"], "email": row["email"], "mobile": row["mobile"],
            "external_id": row["external_id"], "language": row["language"], "created_at": iso(row["created_at"]),
            "activated_at": iso(row["activated_at"]) if row["activated_at"] else None}


def conversation_wire(row: Any) -> dict[str, Any]:
    last = None
    if row["last_seq"] is not None:
        last = {"seq": row["last_seq"], "text": row["last_text"], "sender_kind": row["last_sender"],
                "at": iso(row["last_at"])}
    return {"conversation_id": str(row["id"]), "queue": row["queue"], "status": wire_status(row["status"], row["mode"]),
            "last_seq": row["last_seq"] or 0, "customer_read_seq": row["customer_read_seq"],
            "unread": row["unread"], "last_message": last, "rating_score": row["rating_score"],
            "last_activity_at": iso(row["last_activity_at"]) if row["last_activity_at"] else None}
