"""Validation of what supervisors type into the configuration pages (pure functions, no I/O).

Every refusal is a ``FormError`` (a ``ValueError``) whose ``field`` names the input, so a page
can say exactly what to fix. Opening hours are written in a compact text form — one line of
intervals per weekday (``09:00-12:00, 13:00-17:00``), holidays one date per line, special days
``2026-12-24: 09:00-12:00`` — turned into the JSON schedule of ``core/hours.py`` and
validated by ``hours.parse_schedule``, whose ``ScheduleError.field`` (``weekly.mon[1]``,
``timezone``, ``holidays[0]``, ...) names the offending part; ``describe_field`` says it in words.
"""

from __future__ import annotations

import re
from typing import Any

from frontdesk.core import hours

MAX_TITLE_CHARS = 100
MAX_CANNED_CHARS = 10_000      # what an agent may send in one message (PROTOCOL.md §4)
MAX_QUESTION_CHARS = 500      # the engine's limit of an FAQ question (it judges the entry)

DAY_LABELS = dict(zip(hours.DAY_NAMES, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                                        "Sunday"), strict=True))
MODES = ("weekly", "always", "never")
CLOSED_WORDS = frozenset({"", "closed", "-", "—", "none"})

_INTERVAL_RE = re.compile(r"\s*(\S+?)\s*(?:-|–|—|to)\s*(\S+)\s*")
_SHORT_TIME_RE = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?")
_SPECIAL_RE = re.compile(r"\s*([^:\s]+)\s*:\s*(.*)")


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _text(value: str | None, field: str, label: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise FormError(field, f"{label} is required")
    if len(text) > limit:
        raise FormError(field, f"{label} is too long ({len(text):,} characters; at most {limit:,})")
    if "\x00" in text:
        raise FormError(field, f"{label} contains a NUL character")
    return text


def canned(title: str | None, text: str | None) -> tuple[str, str]:
    return (_text(title, "title", "Title", MAX_TITLE_CHARS), _text(text, "text", "Text", MAX_CANNED_CHARS))


# --------------------------------------------------------------------------- opening hours


def _normal_time(value: str) -> str:
    """``9`` / ``9:00`` → ``09:00``; anything else unchanged (``parse_schedule`` judges it)."""
    m = _SHORT_TIME_RE.fullmatch(value)
    if m is None:
        return value
    return f"{int(m[1]):02d}:{m[2] or '00'}"


def parse_intervals(text: str, field: str) -> list[list[str]]:
    """``"09:00-12:00, 13:00-17:00"`` → ``[["09:00", "12:00"], ["13:00", "17:00"]]``; empty or
    "closed" → ``[]``."""
    if text.strip().lower() in CLOSED_WORDS:
        return []
    out = []
    for i, piece in enumerate(re.split(r"[,;]", text)):
        m = _INTERVAL_RE.fullmatch(piece)
        if m is None:
            raise hours.ScheduleError(f"{field}[{i}]", f"{piece.strip()!r} is not an interval: write HH:MM-HH:MM, "
                                                       "e.g. 09:00-17:00, several separated by commas")
        out.append([_normal_time(m[1]), _normal_time(m[2])])
    return out


def format_intervals(intervals: list[list[str]] | None) -> str:
    return ", ".join(f"{a}-{b}" for a, b in intervals or [])


def parse_dates(text: str) -> list[str]:
    return [d.strip() for d in re.split(r"[\n,;]", text) if d.strip()]


def parse_special_days(text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _SPECIAL_RE.fullmatch(line)
        if m is None:
            raise hours.ScheduleError("special_days", f"line {n} {line.strip()!r}: write YYYY-MM-DD: HH:MM-HH:MM "
                                                      "(several intervals separated by commas) or YYYY-MM-DD: closed")
        day = m[1]
        if day in out:
            raise hours.ScheduleError(f"special_days.{day}", "date given twice")
        out[day] = parse_intervals(m[2], f"special_days.{day}")
    return out


def format_special_days(special: dict[str, list[list[str]]] | None) -> str:
    return "\n".join(f"{day}: {format_intervals(ivs) or 'closed'}" for day, ivs in (special or {}).items())


def schedule_from_form(mode: str, timezone: str, weekly: dict[str, str], holidays_text: str,
                       special_text: str) -> dict[str, Any]:
    """The canonical JSON of the schedule typed into the form; raises ``hours.ScheduleError``."""
    timezone = timezone.strip()
    if mode not in MODES:
        raise hours.ScheduleError("", f"unknown kind of schedule {mode!r}")
    if mode in ("always", "never"):
        obj: dict[str, Any] = {mode: True}
        if timezone:
            obj["timezone"] = timezone
    else:
        if not timezone:
            raise hours.ScheduleError("timezone", "is required (an IANA name such as Europe/Berlin)")
        obj = {
            "timezone": timezone,
            "weekly": {day: parse_intervals(weekly.get(day, ""), f"weekly.{day}") for day in hours.DAY_NAMES
                       if weekly.get(day, "").strip().lower() not in CLOSED_WORDS},
            "holidays": parse_dates(holidays_text),
            "special_days": parse_special_days(special_text),
        }
    return hours.to_json(hours.parse_schedule(obj))


def form_values(schedule_json: Any) -> dict[str, Any]:
    """The editor's initial values for a stored schedule (a broken one opens as an empty week)."""
    s: Any
    try:
        s = hours.to_json(hours.parse_schedule(schedule_json))
    except hours.ScheduleError:
        s = {"timezone": "UTC"}
    mode = "always" if s.get("always") else "never" if s.get("never") else "weekly"
    weekly = s.get("weekly") or {}
    return {
        "mode": mode,
        "timezone": str(s.get("timezone") or "UTC"),
        "weekly": {day: format_intervals(weekly.get(day)) for day in hours.DAY_NAMES},
        "holidays": "\n".join(s.get("holidays") or []),
        "special_days": format_special_days(s.get("special_days")),
    }


def describe_field(field: str) -> str:
    """``weekly.mon[1]`` → ``Monday, interval 2``; ``special_days.2026-12-24`` → ``special day 2026-12-24``."""
    if not field:
        return "Schedule"
    if field == "timezone":
        return "Time zone"
    m = re.fullmatch(r"weekly\.(\w+)(?:\[(\d+)\])?", field)
    if m:
        day = DAY_LABELS.get(m[1], m[1])
        return f"{day}, interval {int(m[2]) + 1}" if m[2] is not None else day
    m = re.fullmatch(r"holidays\[(\d+)\]", field)
    if m:
        return f"Holiday {int(m[1]) + 1}"
    m = re.fullmatch(r"special_days\.([^\[]+)(?:\[(\d+)\])?", field)
    if m:
        return f"Special day {m[1]}" + (f", interval {int(m[2]) + 1}" if m[2] is not None else "")
    return {"special_days": "Special days", "holidays": "Holidays", "weekly": "Weekly hours"}.get(field, field)
