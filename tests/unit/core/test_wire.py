"""The wire form of times (core/wire.py): ISO 8601 in UTC, milliseconds, ``Z`` (PROTOCOL.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.core.wire import iso

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets))
def test_iso_is_utc_with_milliseconds_truncated_and_a_z(dt: datetime) -> None:
    reference = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert iso(dt) == reference
    assert datetime.fromisoformat(iso(dt) or "") == (dt - timedelta(microseconds=dt.microsecond % 1000)).astimezone(UTC)


def test_iso_of_none_is_none() -> None:
    assert iso(None) is None
