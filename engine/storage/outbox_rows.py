"""The rows of an outbox table (``outbox`` for mail, ``sms_outbox`` for SMS), as their sender works
them: claim the due ones with a lease, see when the next is due, mark each attempt's outcome, and
list what was queued while no server was configured. One implementation for both tables, whose
columns these statements share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from frontdesk.engine.storage.db import Database, Row

# the tables and what "queued while nothing could send" reports of each row; table names are
# never taken from input, only from here
_LOGGED = {"outbox": "recipient, subject", "sms_outbox": "id, recipient"}


class OutboxRows:
    def __init__(self, table: str):
        if table not in _LOGGED:
            raise ValueError(f"no outbox table {table!r}")
        self._table = table
        self._logged = _LOGGED[table]

    async def claim_due(self, db: Database, limit: int, lease_s: float) -> list[Row]:
        """Up to ``limit`` due rows, each leased for ``lease_s``: its ``next_try_at`` moves that far
        ahead in the statement that selects it, so no other claim (this engine's or another's) takes
        it meanwhile; rows another claim is taking are skipped, not waited for."""
        t = self._table
        return await db.fetch(
            f"UPDATE {t} o SET next_try_at = now() + make_interval(secs => $2) "
            f"FROM (SELECT id FROM {t} WHERE status = 'queued' AND next_try_at <= now() "
            "ORDER BY next_try_at LIMIT $1 FOR UPDATE SKIP LOCKED) due "
            "WHERE o.id = due.id RETURNING o.*", limit, lease_s)

    async def seconds_until_next(self, db: Database) -> float | None:
        value = await db.fetchval(f"SELECT extract(epoch FROM min(next_try_at) - now()) FROM {self._table} "
                                  "WHERE status = 'queued'")
        return None if value is None else float(value)

    async def mark(self, db: Database, row_id: Any, status: str, attempts: int, error: str | None,
                   next_try_at: datetime | None = None) -> None:
        """status 'sent', 'failed', or 'queued' (a retry at ``next_try_at``)."""
        await db.execute(
            f"UPDATE {self._table} SET status = $2, attempts = $3, last_error = $4, "
            "next_try_at = coalesce($5, next_try_at), sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1",
            row_id, status, attempts, error, next_try_at)

    async def unannounced_queued(self, db: Database, limit: int) -> list[Row]:
        """Queued rows never tried (no server configured); marked tried so each is logged once."""
        t = self._table
        return await db.fetch(
            f"UPDATE {t} SET attempts = 1 WHERE id IN (SELECT id FROM {t} WHERE status = 'queued' "
            f"AND attempts = 0 ORDER BY created_at LIMIT $1) RETURNING {self._logged}", limit)
