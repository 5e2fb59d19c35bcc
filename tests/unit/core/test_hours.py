"""Table-driven tests of ``frontdesk.engine.hours`` (pure functions, no server)."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.core.hours import (
    DAY_NAMES,
    HORIZON,
    Schedule,
    ScheduleError,
    is_open,
    next_open,
    open_until,
    parse_schedule,
    to_json,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def berlin(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, *, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=BERLIN, fold=fold)


def ny(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, *, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=NEW_YORK, fold=fold)


NINE_TO_FIVE = [["09:00", "17:00"]]

# Mon..Fri office in Berlin with a lunch break on Tuesday, Christmas holidays and special days.
# 2026-12-24 is a Thursday, 2026-12-25 a Friday, 2026-12-28 a Monday, 2026-12-31 a Thursday.
OFFICE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "weekly": {
        "mon": NINE_TO_FIVE,
        "tue": [["09:00", "12:00"], ["13:00", "17:00"]],
        "wed": NINE_TO_FIVE,
        "thu": NINE_TO_FIVE,
        "fri": NINE_TO_FIVE,
    },
    "holidays": ["2026-12-25", "2026-12-28"],
    "special_days": {"2026-12-24": [["09:00", "12:00"]], "2026-12-31": []},
}

# Night service in Berlin (January 2026: CET = UTC+1). 2026-01-07 is a Wednesday,
# 2026-01-09 a Friday, 2026-01-17 a Saturday (holiday), 2026-01-23 a Friday (holiday),
# 2026-01-29 a Thursday (special day running over midnight).
NIGHT: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "weekly": {
        "wed": [["20:00", "24:00"]],
        "thu": [["00:00", "02:00"]],
        "fri": [["22:00", "02:00"]],
        "sat": [["20:00", "24:00"]],
    },
    "holidays": ["2026-01-17", "2026-01-23"],
    "special_days": {"2026-01-29": [["23:00", "03:00"]]},
}

ALWAYS: dict[str, Any] = {"always": True}
NEVER: dict[str, Any] = {"never": True}


def weekdays(tz: str) -> dict[str, Any]:
    return {"timezone": tz, "weekly": {day: NINE_TO_FIVE for day in DAY_NAMES[:5]}}


def sundays(tz: str, *intervals: list[str]) -> dict[str, Any]:
    return {"timezone": tz, "weekly": {"sun": list(intervals)}}


def every_day(tz: str, *intervals: list[str], **extra: Any) -> dict[str, Any]:
    return {"timezone": tz, "weekly": {day: list(intervals) for day in DAY_NAMES}, **extra}


# --------------------------------------------------------------------------- is_open

IS_OPEN_CASES = [
    # weekday open / closed, interval bounds: start inclusive, end exclusive
    pytest.param(OFFICE, berlin(2026, 1, 5, 10, 0), True, id="mon-10:00-open"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 8, 59), False, id="mon-08:59-closed"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 9, 0), True, id="mon-09:00-start-inclusive"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 16, 59, 59), True, id="mon-16:59:59-open"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 17, 0), False, id="mon-17:00-end-exclusive"),
    pytest.param(OFFICE, berlin(2026, 1, 10, 12, 0), False, id="sat-missing-day-closed"),
    pytest.param(OFFICE, berlin(2026, 1, 11, 12, 0), False, id="sun-missing-day-closed"),
    # the instant may be given in any zone
    pytest.param(OFFICE, utc(2026, 1, 5, 8, 30), True, id="utc-input-09:30-cet-open"),
    pytest.param(OFFICE, utc(2026, 1, 5, 7, 30), False, id="utc-input-08:30-cet-closed"),
    pytest.param(OFFICE, ny(2026, 1, 5, 3, 30), True, id="new-york-input-09:30-cet-open"),
    # several intervals a day, lunch gap
    pytest.param(OFFICE, berlin(2026, 1, 6, 11, 59), True, id="tue-11:59-morning"),
    pytest.param(OFFICE, berlin(2026, 1, 6, 12, 0), False, id="tue-12:00-lunch-starts"),
    pytest.param(OFFICE, berlin(2026, 1, 6, 12, 30), False, id="tue-12:30-lunch"),
    pytest.param(OFFICE, berlin(2026, 1, 6, 13, 0), True, id="tue-13:00-afternoon"),
    # holidays and special days
    pytest.param(OFFICE, berlin(2026, 12, 23, 10, 0), True, id="wed-before-christmas-normal"),
    pytest.param(OFFICE, berlin(2026, 12, 24, 11, 0), True, id="special-day-short-hours-open"),
    pytest.param(OFFICE, berlin(2026, 12, 24, 13, 0), False, id="special-day-short-hours-closed-after"),
    pytest.param(OFFICE, berlin(2026, 12, 25, 10, 0), False, id="holiday-friday-closed"),
    pytest.param(OFFICE, berlin(2026, 12, 28, 10, 0), False, id="holiday-monday-closed"),
    pytest.param(OFFICE, berlin(2026, 12, 29, 10, 0), True, id="tuesday-after-holidays-open"),
    pytest.param(OFFICE, berlin(2026, 12, 31, 10, 0), False, id="special-day-empty-closed"),
    # over midnight: Fri 22:00-02:00
    pytest.param(NIGHT, berlin(2026, 1, 9, 21, 59), False, id="fri-21:59-before-night"),
    pytest.param(NIGHT, berlin(2026, 1, 9, 22, 0), True, id="fri-22:00-night-starts"),
    pytest.param(NIGHT, berlin(2026, 1, 10, 0, 0), True, id="sat-00:00-still-open"),
    pytest.param(NIGHT, berlin(2026, 1, 10, 1, 0), True, id="sat-01:00-open"),
    pytest.param(NIGHT, berlin(2026, 1, 10, 1, 59, 59), True, id="sat-01:59:59-open"),
    pytest.param(NIGHT, berlin(2026, 1, 10, 2, 0), False, id="sat-02:00-closed"),
    pytest.param(NIGHT, berlin(2026, 1, 9, 1, 0), False, id="fri-01:00-no-thursday-night"),
    # "24:00" end
    pytest.param(NIGHT, berlin(2026, 1, 10, 23, 59, 59), True, id="sat-23:59:59-open-until-24:00"),
    pytest.param(NIGHT, berlin(2026, 1, 11, 0, 0), False, id="sun-00:00-closed-after-24:00"),
    # holiday on the day after an over-midnight start keeps it running; holiday on the start day cancels
    pytest.param(NIGHT, berlin(2026, 1, 17, 1, 0), True, id="night-into-holiday-still-runs"),
    pytest.param(NIGHT, berlin(2026, 1, 17, 21, 0), False, id="holiday-saturday-evening-closed"),
    pytest.param(NIGHT, berlin(2026, 1, 23, 23, 0), False, id="holiday-friday-night-closed"),
    pytest.param(NIGHT, berlin(2026, 1, 24, 1, 0), False, id="holiday-friday-night-not-into-saturday"),
    pytest.param(NIGHT, berlin(2026, 1, 24, 21, 0), True, id="saturday-after-holiday-open"),
    # special day over midnight replaces thursday's 00:00-02:00
    pytest.param(NIGHT, berlin(2026, 1, 29, 1, 0), False, id="special-thu-replaces-early-hours"),
    pytest.param(NIGHT, berlin(2026, 1, 29, 23, 30), True, id="special-thu-night-open"),
    pytest.param(NIGHT, berlin(2026, 1, 30, 2, 30), True, id="special-thu-night-runs-into-fri"),
    pytest.param(NIGHT, berlin(2026, 1, 30, 3, 0), False, id="special-thu-night-ends"),
    # shorthands
    pytest.param(ALWAYS, utc(2026, 1, 1), True, id="always"),
    pytest.param({"always": True, "timezone": "Asia/Tokyo"}, utc(1999, 12, 31, 23, 59), True, id="always-tz"),
    pytest.param(NEVER, utc(2026, 1, 1), False, id="never"),
    pytest.param(every_day("UTC", ["00:00", "24:00"]), utc(2026, 6, 1, 12), True, id="24-7-weekly"),
]


@pytest.mark.parametrize(("schedule", "at", "expected"), IS_OPEN_CASES)
def test_is_open(schedule: dict[str, Any], at: datetime, expected: bool) -> None:
    assert is_open(parse_schedule(schedule), at) is expected


# Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST at 01:00Z; 2026-10-25 03:00 CEST -> 02:00 CET at 01:00Z
# (local 02:00-02:59 happens twice: 00:00Z-00:59Z and 01:00Z-01:59Z).
# America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT at 07:00Z; 2026-11-01 02:00 EDT -> 01:00 EST at
# 06:00Z (local 01:00-01:59 happens twice: 05:00Z-05:59Z and 06:00Z-06:59Z).
BERLIN_SPAN = sundays("Europe/Berlin", ["01:00", "04:00"])
BERLIN_LATE = sundays("Europe/Berlin", ["02:30", "05:00"])
BERLIN_IN_GAP = sundays("Europe/Berlin", ["02:00", "02:45"])
BERLIN_EARLY = sundays("Europe/Berlin", ["01:00", "02:30"])
NY_SPAN = sundays("America/New_York", ["01:00", "04:00"])
NY_LATE = sundays("America/New_York", ["02:30", "05:00"])
NY_EARLY_FALL = sundays("America/New_York", ["00:00", "01:30"])
NY_LATE_FALL = sundays("America/New_York", ["01:30", "03:00"])
NY_SAT_NIGHT = {"timezone": "America/New_York", "weekly": {"sat": [["22:00", "02:00"]]}}

DST_CASES = [
    # Berlin spring forward, 01:00-04:00 spans the gap: 00:00Z-02:00Z (two real hours)
    pytest.param(BERLIN_SPAN, utc(2026, 3, 28, 23, 59), False, id="berlin-spring-span-before"),
    pytest.param(BERLIN_SPAN, utc(2026, 3, 29, 0, 0), True, id="berlin-spring-span-01:00-cet"),
    pytest.param(BERLIN_SPAN, utc(2026, 3, 29, 0, 59), True, id="berlin-spring-span-01:59-cet"),
    pytest.param(BERLIN_SPAN, utc(2026, 3, 29, 1, 0), True, id="berlin-spring-span-03:00-cest"),
    pytest.param(BERLIN_SPAN, utc(2026, 3, 29, 1, 59), True, id="berlin-spring-span-03:59-cest"),
    pytest.param(BERLIN_SPAN, utc(2026, 3, 29, 2, 0), False, id="berlin-spring-span-04:00-cest-closed"),
    # a nonexistent local input 02:30 (fold=0, PEP 495: offset before the gap) is 01:30Z = 03:30 CEST
    pytest.param(BERLIN_SPAN, berlin(2026, 3, 29, 2, 30), True, id="berlin-spring-span-nonexistent-input"),
    # start 02:30 does not exist: moved to the end of the gap, 03:00 CEST = 01:00Z
    pytest.param(BERLIN_LATE, utc(2026, 3, 29, 0, 59), False, id="berlin-spring-late-01:59-cet"),
    pytest.param(BERLIN_LATE, utc(2026, 3, 29, 1, 0), True, id="berlin-spring-late-03:00-cest"),
    pytest.param(BERLIN_LATE, utc(2026, 3, 29, 2, 59), True, id="berlin-spring-late-04:59-cest"),
    pytest.param(BERLIN_LATE, utc(2026, 3, 29, 3, 0), False, id="berlin-spring-late-05:00-cest"),
    pytest.param(BERLIN_LATE, berlin(2026, 3, 29, 2, 30), True, id="berlin-spring-late-nonexistent-input"),
    pytest.param(BERLIN_LATE, utc(2026, 3, 22, 1, 29), False, id="berlin-week-before-02:29-cet"),
    pytest.param(BERLIN_LATE, utc(2026, 3, 22, 1, 30), True, id="berlin-week-before-02:30-cet"),
    # an interval entirely inside the gap is empty that day (but not the week before)
    pytest.param(BERLIN_IN_GAP, utc(2026, 3, 29, 0, 59), False, id="berlin-in-gap-01:59-cet"),
    pytest.param(BERLIN_IN_GAP, utc(2026, 3, 29, 1, 0), False, id="berlin-in-gap-03:00-cest"),
    pytest.param(BERLIN_IN_GAP, berlin(2026, 3, 29, 2, 15), False, id="berlin-in-gap-nonexistent-input"),
    pytest.param(BERLIN_IN_GAP, utc(2026, 3, 22, 1, 15), True, id="berlin-in-gap-week-before"),
    # an end inside the gap is moved to the end of the gap as well
    pytest.param(BERLIN_EARLY, utc(2026, 3, 29, 0, 59), True, id="berlin-spring-early-01:59-cet"),
    pytest.param(BERLIN_EARLY, utc(2026, 3, 29, 1, 0), False, id="berlin-spring-early-03:00-cest"),
    # Berlin fall back, 01:00-04:00: 01:00 CEST (23:00Z) to 04:00 CET (03:00Z), four real hours
    pytest.param(BERLIN_SPAN, utc(2026, 10, 24, 22, 59), False, id="berlin-fall-span-before"),
    pytest.param(BERLIN_SPAN, utc(2026, 10, 24, 23, 0), True, id="berlin-fall-span-01:00-cest"),
    pytest.param(BERLIN_SPAN, utc(2026, 10, 25, 0, 30), True, id="berlin-fall-span-first-02:30"),
    pytest.param(BERLIN_SPAN, utc(2026, 10, 25, 1, 30), True, id="berlin-fall-span-second-02:30"),
    pytest.param(BERLIN_SPAN, utc(2026, 10, 25, 2, 59), True, id="berlin-fall-span-03:59-cet"),
    pytest.param(BERLIN_SPAN, utc(2026, 10, 25, 3, 0), False, id="berlin-fall-span-04:00-cet"),
    # end 02:30 is ambiguous: the first occurrence (00:30Z) counts, the repeated hour is closed
    pytest.param(BERLIN_EARLY, utc(2026, 10, 25, 0, 29), True, id="berlin-fall-early-first-02:29"),
    pytest.param(BERLIN_EARLY, utc(2026, 10, 25, 0, 30), False, id="berlin-fall-early-first-02:30"),
    pytest.param(BERLIN_EARLY, berlin(2026, 10, 25, 2, 15, fold=0), True,
                 id="berlin-fall-early-fold0-input"),
    pytest.param(BERLIN_EARLY, berlin(2026, 10, 25, 2, 15, fold=1), False,
                 id="berlin-fall-early-fold1-input"),
    # start 02:30 is ambiguous: the first occurrence (00:30Z) counts
    pytest.param(BERLIN_LATE, utc(2026, 10, 25, 0, 29), False, id="berlin-fall-late-first-02:29"),
    pytest.param(BERLIN_LATE, utc(2026, 10, 25, 0, 30), True, id="berlin-fall-late-first-02:30"),
    pytest.param(BERLIN_LATE, berlin(2026, 10, 25, 2, 15, fold=1), True, id="berlin-fall-late-fold1-input"),
    pytest.param(BERLIN_LATE, utc(2026, 10, 25, 3, 59), True, id="berlin-fall-late-04:59-cet"),
    pytest.param(BERLIN_LATE, utc(2026, 10, 25, 4, 0), False, id="berlin-fall-late-05:00-cet"),
    # New York spring forward, 01:00-04:00: 01:00 EST (06:00Z) to 04:00 EDT (08:00Z)
    pytest.param(NY_SPAN, utc(2026, 3, 8, 5, 59), False, id="ny-spring-span-before"),
    pytest.param(NY_SPAN, utc(2026, 3, 8, 6, 0), True, id="ny-spring-span-01:00-est"),
    pytest.param(NY_SPAN, utc(2026, 3, 8, 7, 0), True, id="ny-spring-span-03:00-edt"),
    pytest.param(NY_SPAN, utc(2026, 3, 8, 7, 59), True, id="ny-spring-span-03:59-edt"),
    pytest.param(NY_SPAN, utc(2026, 3, 8, 8, 0), False, id="ny-spring-span-04:00-edt"),
    # start 02:30 does not exist: 03:00 EDT = 07:00Z
    pytest.param(NY_LATE, utc(2026, 3, 8, 6, 59), False, id="ny-spring-late-01:59-est"),
    pytest.param(NY_LATE, utc(2026, 3, 8, 7, 0), True, id="ny-spring-late-03:00-edt"),
    pytest.param(NY_LATE, ny(2026, 3, 8, 2, 30), True, id="ny-spring-late-nonexistent-input"),
    pytest.param(NY_LATE, utc(2026, 3, 8, 8, 59), True, id="ny-spring-late-04:59-edt"),
    pytest.param(NY_LATE, utc(2026, 3, 8, 9, 0), False, id="ny-spring-late-05:00-edt"),
    # New York fall back
    pytest.param(NY_EARLY_FALL, utc(2026, 11, 1, 5, 29), True, id="ny-fall-early-first-01:29"),
    pytest.param(NY_EARLY_FALL, utc(2026, 11, 1, 5, 30), False, id="ny-fall-early-first-01:30"),
    pytest.param(NY_EARLY_FALL, utc(2026, 11, 1, 6, 15), False, id="ny-fall-early-second-01:15"),
    pytest.param(NY_EARLY_FALL, ny(2026, 11, 1, 1, 15, fold=1), False, id="ny-fall-early-fold1-input"),
    pytest.param(NY_LATE_FALL, utc(2026, 11, 1, 5, 29), False, id="ny-fall-late-first-01:29"),
    pytest.param(NY_LATE_FALL, utc(2026, 11, 1, 5, 30), True, id="ny-fall-late-first-01:30"),
    pytest.param(NY_LATE_FALL, utc(2026, 11, 1, 6, 15), True, id="ny-fall-late-second-01:15"),
    pytest.param(NY_LATE_FALL, utc(2026, 11, 1, 7, 59), True, id="ny-fall-late-02:59-est"),
    pytest.param(NY_LATE_FALL, utc(2026, 11, 1, 8, 0), False, id="ny-fall-late-03:00-est"),
    # Saturday 22:00 EDT (02:00Z) until Sunday 02:00 EST (07:00Z): five real hours
    pytest.param(NY_SAT_NIGHT, utc(2026, 11, 1, 1, 59), False, id="ny-sat-night-before"),
    pytest.param(NY_SAT_NIGHT, utc(2026, 11, 1, 2, 0), True, id="ny-sat-night-22:00-edt"),
    pytest.param(NY_SAT_NIGHT, utc(2026, 11, 1, 6, 30), True, id="ny-sat-night-second-01:30"),
    pytest.param(NY_SAT_NIGHT, utc(2026, 11, 1, 6, 59), True, id="ny-sat-night-01:59-est"),
    pytest.param(NY_SAT_NIGHT, utc(2026, 11, 1, 7, 0), False, id="ny-sat-night-02:00-est"),
]


@pytest.mark.parametrize(("schedule", "at", "expected"), DST_CASES)
def test_is_open_across_dst(schedule: dict[str, Any], at: datetime, expected: bool) -> None:
    assert is_open(parse_schedule(schedule), at) is expected


# Whole-day offset jumps. Pacific/Apia skipped Friday 2011-12-30: Thu 23:59:59 -10 (09:59:59Z) was
# followed by Sat 00:00 +14 (10:00Z). America/Juneau repeated a day: Sat 1867-10-19 ~16:02 +15:02:19
# (01:00Z) was followed by Fri 1867-10-18 ~16:02 -08:57:41, so a Saturday interval starting in the
# first pass (fold=0) contains instants of the repeated Friday (fold=1) -- is_open must look at the
# next local date as well when ``at`` has fold=1.
APIA = {"timezone": "Pacific/Apia",
        "weekly": {"thu": [["22:00", "02:00"]], "fri": NINE_TO_FIVE, "sat": NINE_TO_FIVE}}
JUNEAU = {"timezone": "America/Juneau", "weekly": {"sat": NINE_TO_FIVE}}

OFFSET_JUMP_CASES = [
    pytest.param(APIA, is_open, utc(2011, 12, 30, 7, 59), False, id="apia-thu-21:59"),
    pytest.param(APIA, is_open, utc(2011, 12, 30, 8, 0), True, id="apia-thu-22:00"),
    pytest.param(APIA, is_open, utc(2011, 12, 30, 9, 59), True, id="apia-thu-23:59"),
    pytest.param(APIA, is_open, utc(2011, 12, 30, 10, 0), False, id="apia-sat-00:00-end-moved-out-of-gap"),
    pytest.param(APIA, open_until, utc(2011, 12, 30, 8, 0), utc(2011, 12, 30, 10, 0), id="apia-open-until"),
    pytest.param(APIA, next_open, utc(2011, 12, 30, 10, 0), utc(2011, 12, 30, 19, 0),
                 id="apia-next-open-skips-missing-friday"),
    pytest.param(JUNEAU, is_open, utc(1867, 10, 18, 17, 57, 40), False, id="juneau-sat-08:59:59-first-pass"),
    pytest.param(JUNEAU, is_open, utc(1867, 10, 18, 17, 57, 41), True, id="juneau-sat-09:00-first-pass"),
    pytest.param(JUNEAU, is_open, utc(1867, 10, 19, 4, 57), True, id="juneau-repeated-friday-19:59"),
    pytest.param(JUNEAU, open_until, utc(1867, 10, 19, 4, 57), utc(1867, 10, 20, 1, 57, 41),
                 id="juneau-open-until-sat-17:00"),
    pytest.param(JUNEAU, next_open, utc(1867, 10, 18), utc(1867, 10, 18, 17, 57, 41), id="juneau-next-open"),
]


@pytest.mark.parametrize(("schedule", "function", "at", "expected"), OFFSET_JUMP_CASES)
def test_whole_day_offset_jumps(schedule: dict[str, Any], function: Any, at: datetime, expected: object) -> None:
    assert function(parse_schedule(schedule), at) == expected


# --------------------------------------------------------------------------- next_open

FAR_SPECIAL = {"timezone": "UTC", "special_days": {"2027-06-01": [["10:00", "11:00"]]}}

NEXT_OPEN_CASES = [
    # open now: ``at`` itself, as UTC
    pytest.param(OFFICE, berlin(2026, 1, 5, 10, 0), utc(2026, 1, 5, 9, 0), id="open-now-returns-at"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 9, 0), utc(2026, 1, 5, 8, 0), id="exactly-at-start"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 7, 0), utc(2026, 1, 5, 8, 0), id="later-same-day"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 17, 0), utc(2026, 1, 6, 8, 0), id="at-close-next-morning"),
    pytest.param(OFFICE, berlin(2026, 1, 6, 12, 30), utc(2026, 1, 6, 12, 0), id="after-lunch"),
    # Friday evening to Monday morning across a DST change
    pytest.param(weekdays("Europe/Berlin"), berlin(2026, 3, 27, 18, 0), utc(2026, 3, 30, 7, 0),
                 id="berlin-weekend-spring-forward"),
    pytest.param(weekdays("Europe/Berlin"), berlin(2026, 10, 23, 18, 0), utc(2026, 10, 26, 8, 0),
                 id="berlin-weekend-fall-back"),
    pytest.param(weekdays("America/New_York"), ny(2026, 3, 6, 18, 0), utc(2026, 3, 9, 13, 0),
                 id="ny-weekend-spring-forward"),
    pytest.param(weekdays("America/New_York"), ny(2026, 10, 30, 18, 0), utc(2026, 11, 2, 14, 0),
                 id="ny-weekend-fall-back"),
    # skipping holidays and empty special days
    pytest.param(OFFICE, berlin(2026, 12, 24, 12, 30), utc(2026, 12, 29, 8, 0),
                 id="skips-christmas-weekend-and-monday-holiday"),
    pytest.param(OFFICE, berlin(2026, 12, 30, 17, 0), utc(2027, 1, 1, 8, 0), id="skips-empty-special-day"),
    pytest.param(NIGHT, berlin(2026, 1, 17, 3, 0), utc(2026, 1, 21, 19, 0), id="skips-holiday-saturday"),
    # start moved out of the DST gap
    pytest.param(BERLIN_LATE, utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0), id="start-in-gap"),
    # horizon and shorthands
    pytest.param(FAR_SPECIAL, utc(2026, 6, 1), utc(2027, 6, 1, 10, 0), id="far-special-day-within-400-days"),
    pytest.param(FAR_SPECIAL, utc(2026, 1, 1), None, id="far-special-day-beyond-400-days"),
    pytest.param({"timezone": "UTC"}, utc(2026, 1, 1), None, id="no-hours-at-all"),
    pytest.param(NEVER, utc(2026, 1, 1), None, id="never"),
    pytest.param(ALWAYS, berlin(2026, 1, 1, 3, 0), utc(2026, 1, 1, 2, 0), id="always"),
]


@pytest.mark.parametrize(("schedule", "at", "expected"), NEXT_OPEN_CASES)
def test_next_open(schedule: dict[str, Any], at: datetime, expected: datetime | None) -> None:
    result = next_open(parse_schedule(schedule), at)
    assert result == expected
    if result is not None:
        assert result.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- open_until

OPEN_UNTIL_CASES = [
    pytest.param(OFFICE, berlin(2026, 1, 5, 10, 0), utc(2026, 1, 5, 16, 0), id="mon-closes-17:00"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 9, 0), utc(2026, 1, 5, 16, 0), id="at-start"),
    pytest.param(OFFICE, berlin(2026, 1, 6, 10, 0), utc(2026, 1, 6, 11, 0), id="tue-closes-for-lunch"),
    pytest.param(OFFICE, berlin(2026, 1, 5, 17, 0), None, id="closed-at-end"),
    pytest.param(OFFICE, berlin(2026, 1, 6, 12, 30), None, id="closed-over-lunch"),
    pytest.param(OFFICE, berlin(2026, 12, 24, 10, 0), utc(2026, 12, 24, 11, 0),
                 id="special-day-closes-early"),
    pytest.param(NIGHT, berlin(2026, 1, 9, 23, 0), utc(2026, 1, 10, 1, 0), id="over-midnight"),
    pytest.param(NIGHT, berlin(2026, 1, 7, 21, 0), utc(2026, 1, 8, 1, 0), id="24:00-touching-00:00-merged"),
    pytest.param(NIGHT, berlin(2026, 1, 16, 23, 0), utc(2026, 1, 17, 1, 0), id="night-into-holiday"),
    pytest.param(BERLIN_SPAN, utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2, 0), id="berlin-spring-forward"),
    pytest.param(BERLIN_SPAN, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3, 0), id="berlin-fall-back"),
    pytest.param(NY_SAT_NIGHT, utc(2026, 11, 1, 2, 30), utc(2026, 11, 1, 7, 0), id="ny-fall-back-night"),
    pytest.param(every_day("UTC", ["00:00", "24:00"], holidays=["2026-02-01"]), utc(2026, 1, 20),
                 utc(2026, 2, 1), id="24-7-until-holiday"),
    pytest.param(every_day("Europe/Berlin", ["00:00", "24:00"]), utc(2026, 1, 20), None,
                 id="24-7-never-closes"),
    pytest.param(ALWAYS, utc(2026, 1, 1), None, id="always"),
    pytest.param(NEVER, utc(2026, 1, 1), None, id="never"),
]


@pytest.mark.parametrize(("schedule", "at", "expected"), OPEN_UNTIL_CASES)
def test_open_until(schedule: dict[str, Any], at: datetime, expected: datetime | None) -> None:
    result = open_until(parse_schedule(schedule), at)
    assert result == expected
    if result is not None:
        assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize("function", [is_open, next_open, open_until])
def test_naive_datetime_is_rejected(function: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        function(parse_schedule(OFFICE), datetime(2026, 1, 5, 10, 0))


# --------------------------------------------------------------------------- parsing


def with_weekly(**days: Any) -> dict[str, Any]:
    return {"timezone": "Europe/Berlin", "weekly": days}


def with_special(special: Any, holidays: Any = ()) -> dict[str, Any]:
    return {"timezone": "Europe/Berlin", "special_days": special, "holidays": list(holidays)}


SCHEDULE_ERROR_CASES = [
    # the object itself
    pytest.param([], "", id="not-an-object"),
    pytest.param('{"always": true}', "", id="json-text-not-an-object"),
    pytest.param(None, "", id="none"),
    pytest.param({1: "x", "timezone": "UTC"}, "1", id="non-string-key"),
    # top-level keys
    pytest.param({"timezone": "UTC", "weeks": {}}, "weeks", id="unknown-top-level-key"),
    pytest.param({"timezone": "UTC", "weekly": {}, "comment": "x"}, "comment", id="unknown-extra-key"),
    # timezone
    pytest.param({"weekly": {"mon": NINE_TO_FIVE}}, "timezone", id="timezone-missing"),
    pytest.param({"timezone": "Mars/Olympus_Mons"}, "timezone", id="timezone-unknown"),
    pytest.param({"timezone": "europe/berlin"}, "timezone", id="timezone-wrong-case"),
    pytest.param({"timezone": "America"}, "timezone", id="timezone-directory"),
    pytest.param({"timezone": "../../etc/passwd"}, "timezone", id="timezone-path-traversal"),
    pytest.param({"timezone": "/etc/localtime"}, "timezone", id="timezone-absolute-path"),
    pytest.param({"timezone": ""}, "timezone", id="timezone-empty"),
    pytest.param({"timezone": 1}, "timezone", id="timezone-not-a-string"),
    pytest.param({"timezone": None}, "timezone", id="timezone-null"),
    # weekly and its day names
    pytest.param({"timezone": "UTC", "weekly": []}, "weekly", id="weekly-not-an-object"),
    pytest.param(with_weekly(monday=NINE_TO_FIVE), "weekly.monday", id="day-name-long"),
    pytest.param(with_weekly(Mon=NINE_TO_FIVE), "weekly.Mon", id="day-name-capitalised"),
    pytest.param(with_weekly(mon=NINE_TO_FIVE, xyz=[]), "weekly.xyz", id="day-name-unknown"),
    pytest.param(with_weekly(mon="09:00-17:00"), "weekly.mon", id="day-not-a-list"),
    pytest.param(with_weekly(mon=None), "weekly.mon", id="day-null"),
    # intervals
    pytest.param(with_weekly(mon=["09:00", "17:00"]), "weekly.mon[0]", id="interval-not-nested"),
    pytest.param(with_weekly(mon=[["09:00"]]), "weekly.mon[0]", id="interval-one-time"),
    pytest.param(with_weekly(mon=[["09:00", "12:00", "17:00"]]), "weekly.mon[0]", id="interval-three-times"),
    pytest.param(with_weekly(mon=[{"from": "09:00", "to": "17:00"}]), "weekly.mon[0]", id="interval-object"),
    pytest.param(with_weekly(tue=[["09:00", "12:00"], ["13:00", "5pm"]]), "weekly.tue[1]",
                 id="bad-time-second-interval"),
    pytest.param(with_weekly(mon=[["9:00", "17:00"]]), "weekly.mon[0]", id="time-one-digit-hour"),
    pytest.param(with_weekly(mon=[["09:00", "17:60"]]), "weekly.mon[0]", id="time-minute-60"),
    pytest.param(with_weekly(mon=[["25:00", "26:00"]]), "weekly.mon[0]", id="time-hour-25"),
    pytest.param(with_weekly(mon=[["09:00", "24:01"]]), "weekly.mon[0]", id="time-24:01"),
    pytest.param(with_weekly(mon=[["24:00", "02:00"]]), "weekly.mon[0]", id="time-24:00-as-start"),
    pytest.param(with_weekly(mon=[["09:00:00", "17:00:00"]]), "weekly.mon[0]", id="time-with-seconds"),
    pytest.param(with_weekly(mon=[[900, 1700]]), "weekly.mon[0]", id="time-integers"),
    pytest.param(with_weekly(mon=[["０９:００", "17:00"]]), "weekly.mon[0]", id="time-fullwidth-digits"),
    pytest.param(with_weekly(mon=[[" 09:00", "17:00"]]), "weekly.mon[0]", id="time-leading-space"),
    pytest.param(with_weekly(mon=[["09:00", "09:00"]]), "weekly.mon[0]", id="zero-length"),
    pytest.param(with_weekly(mon=[["00:00", "00:00"]]), "weekly.mon[0]", id="zero-length-midnight"),
    pytest.param(with_weekly(tue=[["09:00", "12:00"], ["11:00", "13:00"]]), "weekly.tue[1]", id="overlap"),
    pytest.param(with_weekly(tue=[["11:00", "13:00"], ["09:00", "12:00"]]), "weekly.tue[1]",
                 id="overlap-unsorted"),
    pytest.param(with_weekly(wed=[["09:00", "12:00"], ["13:00", "14:00"], ["10:00", "11:00"]]),
                 "weekly.wed[2]", id="overlap-contained-third"),
    pytest.param(with_weekly(thu=NINE_TO_FIVE * 2), "weekly.thu[1]", id="overlap-duplicate"),
    pytest.param(with_weekly(fri=[["22:00", "02:00"], ["23:00", "23:30"]]), "weekly.fri[1]",
                 id="overlap-over-midnight"),
    pytest.param(with_weekly(sat=[["00:00", "24:00"], ["23:00", "01:00"]]), "weekly.sat[1]",
                 id="overlap-whole-day"),
    # holidays
    pytest.param({"timezone": "UTC", "holidays": "2026-12-25"}, "holidays", id="holidays-not-a-list"),
    pytest.param({"timezone": "UTC", "holidays": ["2026-12-25", "2026-13-01"]}, "holidays[1]",
                 id="holiday-month-13"),
    pytest.param({"timezone": "UTC", "holidays": ["2026-02-29"]}, "holidays[0]", id="holiday-no-leap-day"),
    pytest.param({"timezone": "UTC", "holidays": ["20261225"]}, "holidays[0]", id="holiday-basic-format"),
    pytest.param({"timezone": "UTC", "holidays": ["2026-W52-5"]}, "holidays[0]", id="holiday-week-date"),
    pytest.param({"timezone": "UTC", "holidays": ["25.12.2026"]}, "holidays[0]", id="holiday-german-format"),
    pytest.param({"timezone": "UTC", "holidays": ["2026-12-25T00:00"]}, "holidays[0]", id="holiday-datetime"),
    pytest.param({"timezone": "UTC", "holidays": [20261225]}, "holidays[0]", id="holiday-integer"),
    # special days
    pytest.param(with_special([]), "special_days", id="special-days-not-an-object"),
    pytest.param(with_special({"2026-12-32": []}), "special_days.2026-12-32", id="special-day-bad-date"),
    pytest.param(with_special({"christmas": []}), "special_days.christmas", id="special-day-not-a-date"),
    pytest.param(with_special({"2026-12-24": "closed"}), "special_days.2026-12-24",
                 id="special-day-not-a-list"),
    pytest.param(with_special({"2026-12-24": [["09:00", "25:00"]]}), "special_days.2026-12-24[0]",
                 id="special-day-bad-time"),
    pytest.param(with_special({"2026-12-24": [["09:00", "12:00"], ["10:00", "11:00"]]}),
                 "special_days.2026-12-24[1]", id="special-day-overlap"),
    pytest.param(with_special({"2026-12-24": [["12:00", "12:00"]]}), "special_days.2026-12-24[0]",
                 id="special-day-zero-length"),
    pytest.param(with_special({"2026-12-25": []}, holidays=["2026-12-25"]), "special_days.2026-12-25",
                 id="special-day-also-holiday"),
    # shorthands
    pytest.param({"always": False}, "always", id="always-false"),
    pytest.param({"always": 1}, "always", id="always-one"),
    pytest.param({"always": "true"}, "always", id="always-string"),
    pytest.param({"never": False}, "never", id="never-false"),
    pytest.param({"always": True, "never": True}, "never", id="always-and-never"),
    pytest.param({"always": True, "weekly": {}}, "weekly", id="always-with-weekly"),
    pytest.param({"never": True, "holidays": []}, "holidays", id="never-with-holidays"),
    pytest.param({"always": True, "timezone": "Nowhere/Land"}, "timezone", id="always-unknown-timezone"),
    pytest.param({"never": True, "timezone": 0}, "timezone", id="never-bad-timezone"),
]


@pytest.mark.parametrize(("obj", "field"), SCHEDULE_ERROR_CASES)
def test_schedule_error_names_the_field(obj: object, field: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(obj)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert error.message
    assert str(error).startswith(f"{field}: " if field else error.message)


def test_schedule_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(ScheduleError("weekly.mon[0]", "zero-length interval")))
    assert (error.field, error.message) == ("weekly.mon[0]", "zero-length interval")


VALID_CASES = [
    pytest.param(OFFICE, id="office"),
    pytest.param(NIGHT, id="night"),
    pytest.param(ALWAYS, id="always"),
    pytest.param(NEVER, id="never"),
    pytest.param({"always": True, "timezone": "Asia/Tokyo"}, id="always-with-timezone"),
    pytest.param({"timezone": "UTC"}, id="timezone-only"),
    pytest.param(with_weekly(mon=[["09:00", "12:00"], ["12:00", "17:00"]]), id="touching-intervals"),
    pytest.param(with_weekly(mon=[["00:00", "24:00"]]), id="whole-day"),
    pytest.param(with_weekly(mon=[["23:59", "00:00"]]), id="one-minute-to-midnight"),
    pytest.param(with_weekly(fri=[["22:00", "02:00"]], sat=[["01:00", "05:00"]]),
                 id="cross-day-overlap-allowed"),
    pytest.param(with_weekly(mon=[]), id="empty-day"),
    pytest.param({"timezone": "UTC", "holidays": ["2026-12-25", "2026-12-25"]}, id="duplicate-holiday"),
    pytest.param(with_special({"2024-02-29": [["10:00", "11:00"]]}), id="leap-day"),
]


@pytest.mark.parametrize("obj", VALID_CASES)
def test_to_json_round_trips(obj: dict[str, Any]) -> None:
    schedule = parse_schedule(obj)
    assert isinstance(schedule, Schedule)
    data = to_json(schedule)
    assert parse_schedule(data) == schedule
    assert to_json(parse_schedule(data)) == data
    assert hash(parse_schedule(data)) == hash(schedule)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            {"timezone": "Europe/Berlin",
             "weekly": {"tue": [["13:00", "17:00"], ["09:00", "12:00"]],
                        "fri": [["22:00", "00:00"]], "sun": []},
             "holidays": ["2026-12-26", "2026-12-25"],
             "special_days": {"2026-12-31": [], "2026-12-24": [["09:00", "12:00"]]}},
            {"timezone": "Europe/Berlin",
             "weekly": {"tue": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["22:00", "24:00"]]},
             "holidays": ["2026-12-25", "2026-12-26"],
             "special_days": {"2026-12-24": [["09:00", "12:00"]], "2026-12-31": []}},
            id="canonical-weekly"),
        pytest.param({"always": True}, {"always": True, "timezone": "UTC"}, id="canonical-always"),
        pytest.param({"never": True}, {"never": True, "timezone": "UTC"}, id="canonical-never"),
    ],
)
def test_to_json_is_canonical(obj: dict[str, Any], expected: dict[str, object]) -> None:
    assert to_json(parse_schedule(obj)) == expected


@pytest.mark.parametrize(
    ("obj", "weekly", "holidays", "special_days"),
    [
        pytest.param(with_weekly(fri=[["22:00", "02:00"]]), {4: ((1320, 1560),)}, frozenset(), (),
                     id="over-midnight-minutes"),
        pytest.param(with_weekly(sat=[["20:00", "24:00"], ["08:00", "09:30"]]),
                     {5: ((480, 570), (1200, 1440))}, frozenset(), (), id="sorted-minutes-24:00"),
        pytest.param(with_special({"2026-12-24": [["09:00", "12:00"]]}, holidays=["2026-12-25"]), {},
                     frozenset({date(2026, 12, 25)}), ((date(2026, 12, 24), ((540, 720),)),),
                     id="dates"),
    ],
)
def test_parsed_form(obj: dict[str, Any], weekly: dict[int, tuple[tuple[int, int], ...]],
                     holidays: frozenset[date], special_days: tuple[object, ...]) -> None:
    schedule = parse_schedule(obj)
    assert schedule.kind == "weekly"
    assert schedule.weekly == tuple(weekly.get(i, ()) for i in range(7))
    assert schedule.holidays == holidays
    assert schedule.special_days == special_days


# --------------------------------------------------------------------------- properties

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/St_Johns", "Asia/Kolkata"]
# (zone, instant near an offset change); instants are sampled within 3 days of them.  Besides the
# 2026 DST changes this has whole-day jumps: forward (a local date never happens: Manila 1844,
# Apia 2011, Kwajalein 1993) and backward (a local date happens twice: Juneau 1867, Apia 1892,
# Kwajalein 1969).
ZONE_TRANSITIONS = [
    ("Europe/Berlin", utc(2026, 3, 29, 1)), ("Europe/Berlin", utc(2026, 10, 25, 1)),
    ("America/New_York", utc(2026, 3, 8, 7)), ("America/New_York", utc(2026, 11, 1, 6)),
    ("America/Santiago", utc(2026, 4, 5, 3)), ("America/Santiago", utc(2026, 9, 6, 4)),
    ("Australia/Lord_Howe", utc(2026, 4, 4, 15)), ("Australia/Lord_Howe", utc(2026, 10, 3, 15, 30)),
    ("Pacific/Chatham", utc(2026, 4, 4, 14)), ("Pacific/Chatham", utc(2026, 9, 26, 14)),
    ("America/St_Johns", utc(2026, 3, 8, 5, 30)), ("America/St_Johns", utc(2026, 11, 1, 4, 30)),
    ("Asia/Manila", utc(1844, 12, 31, 16)), ("Pacific/Apia", utc(2011, 12, 30, 10)),
    ("Pacific/Kwajalein", utc(1993, 8, 21, 12)), ("America/Juneau", utc(1867, 10, 19, 1)),
    ("Pacific/Apia", utc(1892, 7, 4, 12)), ("Pacific/Kwajalein", utc(1969, 9, 30, 13)),
]
# wall-clock minutes around typical transition times, to hit interval bounds inside gaps and overlaps
EDGE_MINUTES = [0, 30, 60, 90, 120, 135, 150, 165, 180, 210, 1380, 1410, 1440]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_intervals(draw: st.DrawFn) -> list[list[str]]:
    """Non-overlapping intervals of one day, some touching, maybe the last one over midnight."""
    point = st.one_of(st.integers(0, 288).map(lambda p: p * 5), st.sampled_from(EDGE_MINUTES))
    minutes = sorted(draw(st.lists(point, max_size=6, unique=True)))
    pairs = [[minutes[i], minutes[i + 1]] for i in range(0, len(minutes) - 1, 2)]
    for i in range(len(pairs) - 1, 0, -1):
        if draw(st.booleans()):  # let interval i start where interval i-1 ends
            pairs[i][0] = pairs[i - 1][1]
            if pairs[i][0] == pairs[i][1]:
                del pairs[i]
    intervals = [[_hhmm(start), _hhmm(end)] for start, end in pairs]
    if pairs and pairs[-1][0] > 0 and draw(st.booleans()):
        intervals[-1][1] = _hhmm(draw(st.integers(0, pairs[-1][0] - 1)))  # over midnight
    return intervals


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[str, datetime]:
    if draw(st.booleans()):
        zone, base = draw(st.sampled_from(ZONE_TRANSITIONS))
        return zone, base + timedelta(seconds=draw(st.integers(-3 * 86400, 3 * 86400)))
    at = utc(2026, 1, 1) + timedelta(seconds=draw(st.integers(0, 366 * 86400)),
                                     microseconds=draw(st.integers(0, 999_999)))
    return draw(st.sampled_from(ZONES)), at


@st.composite
def schedule_and_instant(draw: st.DrawFn, shorthands: bool = True) -> tuple[dict[str, Any], datetime]:
    zone, at = draw(zone_and_instant())
    kind = draw(st.sampled_from(["weekly"] * 8 + ["always", "never"])) if shorthands else "weekly"
    if kind != "weekly":
        return {kind: True, "timezone": zone}, at
    near = st.integers(-2, 12).map(lambda n: (at.date() + timedelta(days=n)).isoformat())
    holidays = draw(st.lists(near, max_size=3))
    special_dates = draw(st.lists(near.filter(lambda d: d not in holidays), max_size=3, unique=True))
    return {
        "timezone": zone,
        "weekly": draw(st.dictionaries(st.sampled_from(DAY_NAMES), day_intervals(), max_size=7)),
        "holidays": holidays,
        "special_days": {d: draw(day_intervals()) for d in special_dates},
    }, at


PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(schedule_and_instant(), st.lists(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), max_size=5))
def test_next_open_property(case: tuple[dict[str, Any], datetime], fractions: list[float]) -> None:
    obj, at = case
    schedule = parse_schedule(obj)
    assert parse_schedule(to_json(schedule)) == schedule

    opens = next_open(schedule, at)
    if opens is None:
        for k in range(41):
            assert not is_open(schedule, at + HORIZON * k / 40)
        return
    assert opens.utcoffset() == timedelta(0)
    assert opens >= at
    assert opens - at <= HORIZON
    assert is_open(schedule, opens)
    if opens == at:
        return
    gap = opens - at
    between = [at, opens - timedelta(microseconds=1)]
    between += [at + gap * k / 16 for k in range(1, 16)]
    between += [at + gap * f for f in fractions]
    for t in between:
        if at <= t < opens:
            assert not is_open(schedule, t), t


@PROPERTY_SETTINGS
@given(schedule_and_instant())
def test_open_until_property(case: tuple[dict[str, Any], datetime]) -> None:
    obj, at = case
    schedule = parse_schedule(obj)
    closes = open_until(schedule, at)
    if not is_open(schedule, at):
        assert closes is None
        return
    if closes is None:  # always open, or open for longer than the horizon
        for k in range(41):
            assert is_open(schedule, at + HORIZON * k / 40)
        return
    assert closes.utcoffset() == timedelta(0)
    assert closes > at
    assert not is_open(schedule, closes)
    span = closes - at
    for t in [at, closes - timedelta(microseconds=1), *(at + span * k / 16 for k in range(1, 16))]:
        assert is_open(schedule, t), t


def _brute_force_utc(tz: ZoneInfo, day: date, minute: int) -> datetime:
    """Wall time -> UTC by search: earliest instant showing that wall time, else the end of the gap."""
    naive = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
    offsets = {(naive + timedelta(hours=h)).replace(tzinfo=tz).utcoffset() for h in range(-50, 51)}
    showing = [naive.replace(tzinfo=UTC) - off for off in offsets if off is not None]
    matches = sorted(t for t in showing if t.astimezone(tz).replace(tzinfo=None) == naive)
    if matches:
        return matches[0]
    t = min(showing) - timedelta(minutes=1)
    while t.astimezone(tz).replace(tzinfo=None) <= naive:
        t += timedelta(minutes=1)
    t -= timedelta(minutes=1)
    while t.astimezone(tz).replace(tzinfo=None) <= naive:
        t += timedelta(seconds=1)
    return t


@PROPERTY_SETTINGS
@given(schedule_and_instant(shorthands=False))
def test_is_open_matches_brute_force(case: tuple[dict[str, Any], datetime]) -> None:
    """is_open (local date and day before only) agrees with checking every interval of a week."""
    obj, at = case
    schedule = parse_schedule(obj)
    tz = ZoneInfo(obj["timezone"])
    local_day = at.astimezone(tz).date()
    expected = False
    for n in range(-3, 4):
        day = local_day + timedelta(days=n)
        for start, end in schedule.intervals_on(day):
            if _brute_force_utc(tz, day, start) <= at < _brute_force_utc(tz, day, end):
                expected = True
    assert is_open(schedule, at) is expected
