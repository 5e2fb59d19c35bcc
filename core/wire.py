"""Wire form of times, shared by every actor (PROTOCOL.md: ISO 8601, UTC, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix and milliseconds (PROTOCOL.md: times)."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"    # "+00:00" -> "Z"; twice as fast as strftime
