"""The live overview's opening status of a queue (dashboard/overview.py), a pure function: open
until when, or when it opens next (the page against a real database:
tests/e2e/dashboard/test_dashboard_overview.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from frontdesk.dashboard.overview import opening_status


def test_opening_status_says_until_when_and_when_next() -> None:
    schedule = {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}}
    monday_noon = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
    assert opening_status(schedule, monday_noon) == (True, "open until 17:00 (Europe/Berlin)")
    is_open, text = opening_status(schedule, monday_noon + timedelta(hours=8))
    assert not is_open and text == "closed · opens Tue 09:00 (Europe/Berlin)"
    # a week or more ahead: the date, not a weekday name that could mean this week
    monday_only = {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}}
    assert opening_status(monday_only, monday_noon + timedelta(hours=8))[1] == \
        "closed · opens 2026-11-30 09:00 (Europe/Berlin)"
    assert opening_status({"never": True}, monday_noon) == (False, "closed · offline requests only")
    assert opening_status({"always": True}, monday_noon) == (True, "open · always")
    broken, text = opening_status({"timezone": "Mars/Olympus"}, monday_noon)
    assert broken is None and "timezone" in text
