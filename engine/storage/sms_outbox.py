"""SQL of the SMS outbox (``sms_outbox``): what the SMS sender claims, marks and logs. Rows are
written by ``customers.sms_to_customer``, in the transaction of what caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from frontdesk.engine.storage.db import Database, Row


async def claim_due(db: Database, limit: int, lease_s: float) -> list[Row]:
    """Up to ``limit`` due SMS, each leased for ``lease_s``: its ``next_try_at`` moves that far ahead
    in the statement that selects it, so no other claim (this engine's or another's) takes it
    meanwhile; rows another claim is taking are skipped, not waited for."""
    return await db.fetch(
        "UPDATE sms_outbox o SET next_try_at = now() + make_interval(secs => $2) "
        "FROM (SELECT id FROM sms_outbox WHERE status = 'queued' AND next_try_at <= now() "
        "ORDER BY next_try_at LIMIT $1 FOR UPDATE SKIP LOCKED) due "
        "WHERE o.id = due.id RETURNING o.*", limit, lease_s)


async def seconds_until_next(db: Database) -> float | None:
    value = await db.fetchval("SELECT extract(epoch FROM min(next_try_at) - now()) FROM sms_outbox "
                              "WHERE status = 'queued'")
    return None if value is None else float(value)


async def mark(db: Database, sms_id: Any, status: str, attempts: int, error: str | None,
               next_try_at: datetime | None = None) -> None:
    """status 'sent', 'failed', or 'queued' (a retry at ``next_try_at``)."""
    await db.execute(
        "UPDATE sms_outbox SET status = $2, attempts = $3, last_error = $4, "
        "next_try_at = coalesce($5, next_try_at), sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1",
        sms_id, status, attempts, error, next_try_at)


async def unannounced_queued(db: Database, limit: int) -> list[Row]:
    """Queued SMS never tried (no gateway configured); marked tried so each is logged once."""
    return await db.fetch(
        "UPDATE sms_outbox SET attempts = 1 WHERE id IN (SELECT id FROM sms_outbox WHERE status = 'queued' "
        "AND attempts = 0 ORDER BY created_at LIMIT $1) RETURNING id, recipient", limit)
