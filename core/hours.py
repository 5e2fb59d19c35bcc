"""Opening hours and holidays of a customer-service queue.

This module answers "is the queue open at instant *t*?", "when does it open next?" and
"when does it close?" for the schedule stored per queue in the database.  Everything here
is a pure function over timezone-aware datetimes: no I/O, no clock reads, no module state.
The engine parses the stored JSON once with :func:`parse_schedule` and keeps the
resulting immutable :class:`Schedule`.

Schedule format (a JSON object)::

    {
      "timezone": "Europe/Berlin",
      "weekly": {"mon": [["09:00", "17:00"]],
                 "tue": [["09:00", "12:00"], ["13:00", "17:00"]],
                 "fri": [["22:00", "02:00"]]},
      "holidays": ["2026-12-25", "2026-12-26"],
      "special_days": {"2026-12-24": [["09:00", "12:00"]], "2026-12-31": []}
    }

``timezone``
    IANA zone name, required.  All times and dates below are local to it.
``weekly``
    Optional (default ``{}``).  Keys are ``mon tue wed thu fri sat sun``; a missing day
    (or ``[]``) is closed.  Each interval is ``["HH:MM", "HH:MM"]``, start inclusive, end
    exclusive.  ``"24:00"`` is allowed as an end (not as a start).  An interval whose end
    is <= its start runs over midnight into the next day (``["22:00", "02:00"]``;
    ``["22:00", "00:00"]`` is the same as ``["22:00", "24:00"]``).  Zero-length intervals
    (``["09:00", "09:00"]``) and overlapping intervals of the same day are rejected.
    Intervals of *different* days may overlap or touch (an over-midnight interval and an
    early interval of the next day); the queue is open during their union.
``holidays``
    Optional list of local dates ``"YYYY-MM-DD"`` that are closed all day: no interval
    starts on them.  An interval that started the day before and runs over midnight into
    a holiday still runs until its end.
``special_days``
    Optional object mapping local dates to the intervals of that date; they replace the
    weekday's intervals (``[]`` = closed).  Same interval rules as ``weekly``; an
    over-midnight special interval runs into the next day like a weekly one.  A date may
    not be both a holiday and a special day.

Shorthands: ``{"always": true}`` (always open; ``"timezone"`` optional, default
``"UTC"``) and ``{"never": true}`` (never open; same optional ``"timezone"``).  No other
keys are allowed next to them.

Local wall-clock semantics across DST and other offset changes: an interval means the
local wall-clock times of the day it starts on.

* A start or end that does not exist locally (inside a spring-forward gap, e.g. 02:30 in
  Europe/Berlin on 2026-03-29) is moved to the first valid instant after the gap, i.e.
  the transition instant itself (03:00 CEST = 01:00 UTC).  An interval lying entirely in
  the gap is therefore empty that day.
* A start or end that exists twice (inside a fall-back overlap, e.g. 02:30 in
  Europe/Berlin on 2026-10-25) means its first occurrence (``fold=0``; 02:30 CEST =
  00:30 UTC), for starts and ends alike.  So ``["01:00", "02:30"]`` closes before the
  repeated hour, while ``["01:00", "04:00"]`` spans both occurrences of 02:30.

Instants passed in may be in any zone (typically UTC) but must be timezone-aware; an
aware datetime in a zone is interpreted the usual PEP 495 way (a nonexistent local
``datetime`` with ``fold=0`` uses the offset before the transition).  Results are
UTC-aware datetimes.  Searches look at most :data:`HORIZON` (400 days) ahead.

Malformed input raises :class:`ScheduleError` (a ``ValueError``) whose ``field`` names
the offending part: ``""`` for the whole object, ``"timezone"``, ``"weekly"``,
``"weekly.fri"``, ``"weekly.fri[0]"``, ``"holidays[2]"``, ``"special_days.2026-12-24"``,
``"special_days.2026-12-24[1]"``, or the unknown key itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAY_NAMES",
    "HORIZON",
    "Schedule",
    "ScheduleError",
    "is_open",
    "next_open",
    "open_until",
    "parse_schedule",
    "to_json",
]

#: How far ahead :func:`next_open` and :func:`open_until` look.
HORIZON = timedelta(days=400)
#: Day names of ``weekly``, index = ``date.weekday()``.
DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MINUTES_PER_DAY = 24 * 60

#: ``(start, end)`` in minutes since local midnight of the day the interval starts on;
#: ``0 <= start < 1440`` and ``start < end < start + 1440`` (``end == 1440`` is "24:00",
#: ``end > 1440`` runs over midnight), except the whole day ``(0, 1440)``.
Interval = tuple[int, int]
DayIntervals = tuple[Interval, ...]
Kind = Literal["weekly", "always", "never"]

_TIME_RE = re.compile(r"([0-9]{2}):([0-9]{2})")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEKLY_KEYS = frozenset({"timezone", "weekly", "holidays", "special_days"})
_SHORTHAND_KEYS = frozenset({"always", "never", "timezone"})


class ScheduleError(ValueError):
    """A schedule object is malformed; ``field`` is the path of the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[ScheduleError], tuple[str, str]]:
        return (ScheduleError, (self.field, self.message))


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A parsed schedule (see the module docstring); build it with :func:`parse_schedule`.

    ``weekly`` has 7 entries, index 0 = Monday; intervals are sorted
    :data:`Interval` tuples.  ``special_days`` is sorted by date.  ``tz`` is derived
    from ``timezone`` and not part of equality.
    """

    timezone: str = "UTC"
    kind: Kind = "weekly"
    weekly: tuple[DayIntervals, ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    special_days: tuple[tuple[date, DayIntervals], ...] = ()
    tz: tzinfo = dataclasses.field(init=False, repr=False, compare=False)
    _special: dict[date, DayIntervals] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ScheduleError("weekly", "must have exactly 7 days")
        object.__setattr__(self, "tz", _load_zone(self.timezone))
        object.__setattr__(self, "_special", dict(self.special_days))

    def intervals_on(self, day: date) -> DayIntervals:
        """The local intervals that start on ``day`` (holidays and special days applied)."""
        if day in self.holidays:
            return ()
        special = self._special.get(day)
        if special is not None:
            return special
        return self.weekly[day.weekday()]


# --------------------------------------------------------------------------- parsing


def parse_schedule(obj: object) -> Schedule:
    """Validate the stored JSON object ``obj`` and return its :class:`Schedule`."""
    if not isinstance(obj, Mapping):
        raise ScheduleError("", "schedule must be a JSON object")
    for key in obj:
        if not isinstance(key, str):
            raise ScheduleError(str(key), "keys must be strings")

    if "always" in obj or "never" in obj:
        return _parse_shorthand(obj)

    for key in obj:
        if key not in _WEEKLY_KEYS:
            raise ScheduleError(key, "unknown key (expected timezone, weekly, holidays, special_days, "
                                     "or the shorthand always/never)")
    if "timezone" not in obj:
        raise ScheduleError("timezone", "is required")
    timezone = _parse_timezone(obj["timezone"])

    weekly_obj = obj.get("weekly", {})
    if not isinstance(weekly_obj, Mapping):
        raise ScheduleError("weekly", "must be an object mapping day names (mon..sun) to intervals")
    weekly: list[DayIntervals] = [()] * 7
    for name, value in weekly_obj.items():
        if name not in DAY_NAMES:
            raise ScheduleError(f"weekly.{name}", "unknown day name (expected one of "
                                                  + ", ".join(DAY_NAMES) + ")")
        weekly[DAY_NAMES.index(name)] = _parse_intervals(value, f"weekly.{name}")

    holidays_obj = obj.get("holidays", [])
    if not isinstance(holidays_obj, list | tuple):
        raise ScheduleError("holidays", "must be a list of dates \"YYYY-MM-DD\"")
    holidays = frozenset(_parse_date(value, f"holidays[{i}]") for i, value in enumerate(holidays_obj))

    special_obj = obj.get("special_days", {})
    if not isinstance(special_obj, Mapping):
        raise ScheduleError("special_days", "must be an object mapping dates \"YYYY-MM-DD\" to intervals")
    special: dict[date, DayIntervals] = {}
    for key, value in special_obj.items():
        path = f"special_days.{key}"
        day = _parse_date(key, path)
        if day in special:
            raise ScheduleError(path, "date given twice")
        if day in holidays:
            raise ScheduleError(path, "date is also listed in holidays")
        special[day] = _parse_intervals(value, path)

    return Schedule(
        timezone=timezone,
        weekly=tuple(weekly),
        holidays=holidays,
        special_days=tuple(sorted(special.items())),
    )


def _parse_shorthand(obj: Mapping[str, object]) -> Schedule:
    if "always" in obj and "never" in obj:
        raise ScheduleError("never", "'always' and 'never' exclude each other")
    kind: Kind = "always" if "always" in obj else "never"
    if obj[kind] is not True:
        raise ScheduleError(kind, "must be true (leave the key out otherwise)")
    for key in obj:
        if key not in _SHORTHAND_KEYS:
            raise ScheduleError(key, f"not allowed together with '{kind}' (only 'timezone' is)")
    timezone = _parse_timezone(obj["timezone"]) if "timezone" in obj else "UTC"
    return Schedule(timezone=timezone, kind=kind)


def _parse_timezone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ScheduleError("timezone", "must be an IANA time zone name such as \"Europe/Berlin\"")
    _load_zone(value)
    return value


def _load_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        if name == "UTC":  # no tz database at all: UTC needs none
            return UTC
        raise ScheduleError("timezone", f"unknown IANA time zone {name!r}") from exc


def _parse_date(value: object, path: str) -> date:
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(path, f"{value!r} is not a valid date \"YYYY-MM-DD\"")


def _parse_time(value: object, path: str, what: str, *, allow_24: bool) -> int:
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        hours, minutes = int(match[1]), int(match[2])
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
        if hours == 24 and minutes == 0:
            if allow_24:
                return MINUTES_PER_DAY
            raise ScheduleError(path, f"{what} \"24:00\" is only allowed as an end")
    raise ScheduleError(path, f"{what} {value!r} is not a time \"HH:MM\" (00:00..23:59, or 24:00 as an end)")


def _parse_intervals(value: object, path: str) -> DayIntervals:
    if not isinstance(value, list | tuple):
        raise ScheduleError(path, "must be a list of [\"HH:MM\", \"HH:MM\"] intervals")
    parsed: list[tuple[int, int, int]] = []  # (start, end, index in the input)
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ScheduleError(where, "an interval must be a pair [\"HH:MM\", \"HH:MM\"]")
        start = _parse_time(item[0], where, "start", allow_24=False)
        end = _parse_time(item[1], where, "end", allow_24=True)
        if end == start:
            raise ScheduleError(where, "zero-length interval (start equals end); "
                                       "use [\"00:00\", \"24:00\"] for a whole day")
        if end < start:
            end += MINUTES_PER_DAY  # over midnight into the next day
        parsed.append((start, end, i))
    parsed.sort()
    for (start_a, end_a, i_a), (start_b, end_b, i_b) in itertools.pairwise(parsed):
        if start_b < end_a:
            first, second = sorted((i_a, i_b))
            raise ScheduleError(f"{path}[{second}]", f"overlaps {path}[{first}] "
                                f"({_format_interval((start_a, end_a))} and "
                                f"{_format_interval((start_b, end_b))})")
    return tuple((start, end) for start, end, _ in parsed)


# --------------------------------------------------------------------------- serialising


def to_json(schedule: Schedule) -> dict[str, object]:
    """The JSON object of ``schedule``; ``parse_schedule(to_json(s)) == s``.

    The output is canonical: intervals and dates sorted, closed weekdays left out,
    ``"00:00"`` as an over-midnight end written as ``"24:00"``.
    """
    if schedule.kind != "weekly":
        return {schedule.kind: True, "timezone": schedule.timezone}
    return {
        "timezone": schedule.timezone,
        "weekly": {name: _intervals_json(day) for name, day in zip(DAY_NAMES, schedule.weekly, strict=True)
                   if day},
        "holidays": [day.isoformat() for day in sorted(schedule.holidays)],
        "special_days": {day.isoformat(): _intervals_json(ivs) for day, ivs in schedule.special_days},
    }


def _intervals_json(intervals: DayIntervals) -> list[list[str]]:
    return [[_format_minute(start), _format_end(end)] for start, end in intervals]


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _format_end(end: int) -> str:
    if end == MINUTES_PER_DAY:
        return "24:00"
    return _format_minute(end % MINUTES_PER_DAY)


def _format_interval(interval: Interval) -> str:
    return f"{_format_minute(interval[0])}–{_format_end(interval[1])}"


# --------------------------------------------------------------------------- queries


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the queue is open at the aware instant ``at``.

    Only the intervals starting on the local date of ``at`` and on the day before are
    looked at (plus the next day while ``at`` is in a repeated, ``fold=1`` hour, where a
    next-day interval can already have started).
    """
    at_utc = _as_utc(at)
    if schedule.kind != "weekly":
        return schedule.kind == "always"
    local = at_utc.astimezone(schedule.tz)
    today = local.date()
    days = [today - timedelta(days=1), today]
    if local.fold:
        days.append(today + timedelta(days=1))
    return any(start <= at_utc < end for day in days for start, end in _utc_intervals(schedule, day))


def next_open(schedule: Schedule, at: datetime) -> datetime | None:
    """The first instant >= ``at`` at which the queue is open, UTC-aware.

    ``at`` itself (converted to UTC) when open now; ``None`` when it does not open within
    :data:`HORIZON` of ``at`` (always for ``{"never": true}``).
    """
    at_utc = _as_utc(at)
    if schedule.kind != "weekly":
        return at_utc if schedule.kind == "always" else None
    first_day = at_utc.astimezone(schedule.tz).date() - timedelta(days=1)
    # Interval starts come out in non-decreasing order, so the first interval that has
    # not ended yet either contains ``at`` or is the next opening.
    for start, end in _utc_intervals_from(schedule, first_day, HORIZON.days + 2):
        if end <= at_utc:
            continue
        if start <= at_utc:
            return at_utc
        return start if start - at_utc <= HORIZON else None
    return None


def open_until(schedule: Schedule, at: datetime) -> datetime | None:
    """When the queue, open at ``at``, next closes (UTC-aware).

    Touching or overlapping intervals (``["22:00", "24:00"]`` then ``["00:00", "02:00"]``
    the next day) count as one opening.  ``None`` when closed at ``at``, when always open,
    or when it stays open for longer than :data:`HORIZON`.
    """
    at_utc = _as_utc(at)
    if schedule.kind != "weekly":
        return None
    first_day = at_utc.astimezone(schedule.tz).date() - timedelta(days=1)
    limit = at_utc + HORIZON
    until: datetime | None = None
    for start, end in _utc_intervals_from(schedule, first_day, HORIZON.days + 3):
        if until is None:
            if end <= at_utc:
                continue
            if start > at_utc:
                return None  # closed now
            until = end
        elif start > until:
            return until
        else:
            until = max(until, end)
        if until > limit:
            return None
    return until


# --------------------------------------------------------------------------- wall clock


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return at.astimezone(UTC)


def _utc_intervals_from(
    schedule: Schedule, first_day: date, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """The non-empty intervals starting on ``days`` consecutive local dates, in order."""
    day = first_day
    for _ in range(days):
        yield from _utc_intervals(schedule, day)
        try:
            day += timedelta(days=1)
        except OverflowError:
            return


def _utc_intervals(schedule: Schedule, day: date) -> Iterator[tuple[datetime, datetime]]:
    """The non-empty intervals starting on local date ``day`` as UTC ``(start, end)``."""
    for start_minute, end_minute in schedule.intervals_on(day):
        start = _wall_to_utc(schedule.tz, day, start_minute)
        end = _wall_to_utc(schedule.tz, day, end_minute)
        if start < end:
            yield start, end


def _wall_to_utc(tz: tzinfo, day: date, minute: int) -> datetime:
    """The UTC instant of local wall time ``day`` + ``minute`` (may be >= 1440).

    Ambiguous wall times take the first occurrence (``fold=0``); nonexistent ones (in a
    gap) take the first instant after the gap.
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    return _gap_end(tz, naive)


def _gap_end(tz: tzinfo, naive: datetime) -> datetime:
    """The transition instant that skipped the nonexistent local time ``naive``.

    With PEP 495, ``fold=1`` applies the offset after the transition (an instant before
    it) and ``fold=0`` the offset before (an instant after it); bisect in between.
    """
    before = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    after = int(naive.replace(tzinfo=tz, fold=0).astimezone(UTC).timestamp())
    if after <= before:  # not a plain gap; cannot happen with real tz data
        return datetime.fromtimestamp(after, UTC)
    new_offset = datetime.fromtimestamp(after, tz).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == new_offset:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)
