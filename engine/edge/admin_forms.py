"""Validation of the administration API's bodies and query arguments (PROTOCOL.md §10, §14).

Each ``parse_*`` takes the raw body and returns what it holds, or raises ``ProtocolError`` naming
the field (``missing_field``, ``invalid_value``, ``invalid_email``: 422). A field the route does
not know is refused too (``invalid_value`` naming it), so a misspelt setting is never silently
ignored. Names, e-mail addresses, titles, sender names and mail subjects may hold no control
character: they reach mail headers and the staff's screens. Whether named queues and agents exist
is the route's check (it needs the database).

The dashboard sends its forms here (``dashboard/engine_api.py``): these are the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from frontdesk.core import hours
from frontdesk.core.errors import ProtocolError
from frontdesk.engine.edge.customer_forms import MAX_PASSWORD_CHARS
from frontdesk.engine.edge.forms import (
    MAX_EMAIL_CHARS,
    MAX_NAME_CHARS,
    decode_object,
    has_control_character,
    text_field,
)
from frontdesk.engine.mail.compose import TEMPLATE_KEYS, TEMPLATE_LANGUAGES
from frontdesk.engine.runtime.config import MIN_PASSWORD_CHARS

MAX_CAPACITY = 50
DEFAULT_CAPACITY = 3
MAX_QUEUES = 100
MAX_MEMBERS = 1000
QUEUE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
FIELD_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_REQUIRED_FIELDS = 20
MAX_TITLE_CHARS = 200
MAX_RETENTION_DAYS = 36_500
MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 256
MAX_SENDER_NAME_CHARS = 100
MAX_TEMPLATE_CHARS = 2_000
MAX_TEMPLATE_LANGUAGES = 20
ONE_LINE_TEMPLATE_KEYS = ("sender_name", "subject")
MODES = ("live", "messaging")
MAX_CLOSED_MESSAGE_CHARS = 1_000
MAX_FAQ_QUESTION_CHARS = 500
MAX_FAQ_ANSWER_CHARS = 5_000
MAX_CANNED_TITLE_CHARS = 100
MAX_CANNED_TEXT_CHARS = 10_000
DEFAULT_AUDIT_PAGE = 200
MAX_AUDIT_PAGE = 1000


def _only(obj: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise ProtocolError("invalid_value", f"{key} is not a field of this request "
                                f"(known: {', '.join(allowed)})", field=key)


def _line(obj: dict[str, Any], name: str, max_chars: int, *, required: bool) -> str | None:
    """A one-line text: no control character anywhere (it may reach a mail header)."""
    raw = obj.get(name)
    if isinstance(raw, str) and has_control_character(raw):
        raise ProtocolError("invalid_value", f"{name} contains a control character", field=name)
    return text_field(obj, name, max_chars=max_chars, required=required)


async def _email(obj: dict[str, Any]) -> str:
    """A staff address: like a customer's, but also in a domain of the organisation's own network
    (``.internal``, ``.local``, ``.test``), which no customer has."""
    raw = _line(obj, "email", MAX_EMAIL_CHARS, required=True) or ""
    try:
        result = validate_email(raw, check_deliverability=False, globally_deliverable=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ProtocolError("invalid_email", str(exc), field="email") from None
    return str(result.normalized)


def _password(obj: dict[str, Any]) -> str:
    value = obj.get("password")
    if value is None or value == "":
        raise ProtocolError("missing_field", "password is required", field="password")
    if not isinstance(value, str) or len(value) > MAX_PASSWORD_CHARS:
        raise ProtocolError("invalid_value", f"password must be a string of at most {MAX_PASSWORD_CHARS} characters",
                            field="password")
    if len(value) < MIN_PASSWORD_CHARS:
        raise ProtocolError("invalid_value", f"password must have at least {MIN_PASSWORD_CHARS} characters",
                            field="password")
    return value


def _int(obj: dict[str, Any], name: str, low: int, high: int) -> int:
    value = obj.get(name)
    if value is None:
        raise ProtocolError("missing_field", f"{name} is required", field=name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError("invalid_value", f"{name} must be a whole number from {low} to {high}", field=name)
    return value


def _bool(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name)
    if not isinstance(value, bool):
        raise ProtocolError("invalid_value", f"{name} must be true or false", field=name)
    return value


def _names(obj: dict[str, Any], name: str, pattern: re.Pattern[str], most: int, what: str) -> list[str]:
    """A list of distinct strings matching ``pattern`` (order kept)."""
    value = obj.get(name)
    if value is None:
        raise ProtocolError("missing_field", f"{name} is required (a list, possibly empty)", field=name)
    if not isinstance(value, list) or len(value) > most:
        raise ProtocolError("invalid_value", f"{name} must be a list of at most {most} {what}", field=name)
    seen: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise ProtocolError("invalid_value", f"{name}[{i}] is not a valid {what[:-1]}", field=f"{name}[{i}]")
        if item in seen:
            raise ProtocolError("invalid_value", f"{name}[{i}] is given twice", field=f"{name}[{i}]")
        seen.append(item)
    return seen


_ANY_QUEUE_NAME = re.compile(r".{1,200}", re.DOTALL)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# ---- staff ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewStaff:
    name: str
    email: str
    password: str
    capacity: int
    queues: list[str]


@dataclass(frozen=True)
class StaffChanges:
    columns: dict[str, Any]         # name, email, capacity
    queues: list[str] | None
    password: str | None
    disabled: bool | None


async def parse_new_agent(body: bytes) -> NewStaff:
    """``POST /api/agents``: ``name``, ``email``, ``password``; ``capacity`` (default 3), ``queues`` (default [])."""
    obj = decode_object(body)
    _only(obj, ("name", "email", "password", "capacity", "queues"))
    name = _line(obj, "name", MAX_NAME_CHARS, required=True) or ""
    email = await _email(obj)
    password = _password(obj)
    capacity = _int(obj, "capacity", 0, MAX_CAPACITY) if "capacity" in obj else DEFAULT_CAPACITY
    queues = _names(obj, "queues", _ANY_QUEUE_NAME, MAX_QUEUES, "queue names") if "queues" in obj else []
    return NewStaff(name, email, password, capacity, queues)


async def parse_new_supervisor(body: bytes) -> NewStaff:
    """``POST /api/supervisors``: ``name``, ``email``, ``password``."""
    obj = decode_object(body)
    _only(obj, ("name", "email", "password"))
    name = _line(obj, "name", MAX_NAME_CHARS, required=True) or ""
    email = await _email(obj)
    return NewStaff(name, email, _password(obj), 0, [])


async def parse_staff_changes(body: bytes, *, agent: bool) -> StaffChanges:
    """``PATCH /api/agents/{id}`` (``name``, ``email``, ``capacity``, ``queues``, ``disabled``,
    ``password``) and ``PATCH /api/supervisors/{id}`` (the same without capacity and queues)."""
    obj = decode_object(body)
    _only(obj, ("name", "email", "password", "disabled", "capacity", "queues") if agent
          else ("name", "email", "password", "disabled"))
    columns: dict[str, Any] = {}
    if "name" in obj:
        columns["name"] = _line(obj, "name", MAX_NAME_CHARS, required=True)
    if "email" in obj:
        columns["email"] = await _email(obj)
    if "capacity" in obj:
        columns["capacity"] = _int(obj, "capacity", 0, MAX_CAPACITY)
    queues = _names(obj, "queues", _ANY_QUEUE_NAME, MAX_QUEUES, "queue names") if "queues" in obj else None
    password = _password(obj) if "password" in obj else None
    disabled = _bool(obj, "disabled") if "disabled" in obj else None
    return StaffChanges(columns, queues, password, disabled)


# ---- queues ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueForm:
    name: str | None                 # POST only
    settings: dict[str, Any]         # columns of ``queues`` (admin.QUEUE_COLUMNS)
    members: list[str] | None


_QUEUE_FIELDS = ("title", "mode", "members", "required_fields", "faq_suggestions", "transcript_mails",
                 "retention_days", "identity_secret", "sender_name", "mail_templates", "opening_hours",
                 "closed_message")


def _mail_templates(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or len(value) > MAX_TEMPLATE_LANGUAGES:
        raise ProtocolError("invalid_value", "mail_templates must be an object of languages, each an object of "
                            f"lines ({', '.join(TEMPLATE_KEYS)})", field="mail_templates")
    out: dict[str, dict[str, str]] = {}
    for language, lines in value.items():
        where = f"mail_templates.{language}"
        if language not in TEMPLATE_LANGUAGES:
            raise ProtocolError("invalid_value", f"mail templates exist in {', '.join(TEMPLATE_LANGUAGES)}",
                                field="mail_templates")
        if not isinstance(lines, dict):
            raise ProtocolError("invalid_value", f"{where} must be an object", field=where)
        out[language] = {}
        for key, text in lines.items():
            if key not in TEMPLATE_KEYS:
                raise ProtocolError("invalid_value", f"{where} may hold {', '.join(TEMPLATE_KEYS)}",
                                    field=f"{where}.{key}"[:200])
            if not isinstance(text, str) or len(text) > MAX_TEMPLATE_CHARS or "\x00" in text:
                raise ProtocolError("invalid_value", f"{where}.{key} must be a text of at most "
                                    f"{MAX_TEMPLATE_CHARS} characters", field=f"{where}.{key}")
            if key in ONE_LINE_TEMPLATE_KEYS and has_control_character(text):
                raise ProtocolError("invalid_value", f"{where}.{key} must be one line without control characters",
                                    field=f"{where}.{key}")
            if text.strip():
                out[language][key] = text.strip() if key in ONE_LINE_TEMPLATE_KEYS else text
    return {language: lines for language, lines in out.items() if lines}


def _queue_settings(obj: dict[str, Any]) -> QueueForm:
    settings: dict[str, Any] = {}
    if "title" in obj:
        settings["title"] = _line(obj, "title", MAX_TITLE_CHARS, required=False) or ""
    if "mode" in obj:
        if obj["mode"] not in MODES:
            raise ProtocolError("invalid_value", "mode must be live or messaging", field="mode")
        settings["mode"] = obj["mode"]
    if "required_fields" in obj:
        settings["required_fields"] = _names(obj, "required_fields", FIELD_NAME, MAX_REQUIRED_FIELDS,
                                             "field names (letters, digits, _ and -)")
    for flag in ("faq_suggestions", "transcript_mails"):
        if flag in obj:
            settings[flag] = _bool(obj, flag)
    if "retention_days" in obj:
        settings["retention_days"] = (None if obj["retention_days"] is None
                                      else _int(obj, "retention_days", 1, MAX_RETENTION_DAYS))
    if "identity_secret" in obj:
        secret = obj["identity_secret"]
        if secret is not None and (not isinstance(secret, str)
                                   or not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS
                                   or has_control_character(secret) or secret != secret.strip()):
            raise ProtocolError("invalid_value", f"identity_secret must be null or {MIN_SECRET_CHARS} to "
                                f"{MAX_SECRET_CHARS} characters without spaces around them", field="identity_secret")
        settings["identity_secret"] = secret
    if "sender_name" in obj:
        settings["sender_name"] = _line(obj, "sender_name", MAX_SENDER_NAME_CHARS, required=False)
    if "mail_templates" in obj:
        settings["mail_templates"] = _mail_templates(obj["mail_templates"])
    if "opening_hours" in obj:
        settings["opening_hours"] = opening_hours(obj["opening_hours"])
    if "closed_message" in obj:
        settings["closed_message"] = text_field(obj, "closed_message", max_chars=MAX_CLOSED_MESSAGE_CHARS)
    members = _names(obj, "members", _UUID, MAX_MEMBERS, "agent ids") if "members" in obj else None
    return QueueForm(None, settings, [m.lower() for m in members] if members is not None else None)


def opening_hours(value: Any) -> dict[str, Any]:
    """A schedule judged by ``hours.parse_schedule`` (the parser the engine serves queues with and the
    dashboard's editor uses), stored in its canonical form; a refusal names the part under
    ``opening_hours`` (``opening_hours.weekly.mon[0]``)."""
    try:
        return hours.to_json(hours.parse_schedule(value))
    except hours.ScheduleError as exc:
        where = (f"opening_hours.{exc.field}" if exc.field else "opening_hours")[:200]
        raise ProtocolError("invalid_value", f"{where}: {exc.message}", field=where) from None


def parse_new_queue(body: bytes) -> QueueForm:
    """``POST /api/queues``: ``name`` and any setting of ``PATCH``."""
    obj = decode_object(body)
    _only(obj, ("name", *_QUEUE_FIELDS))
    name = obj.get("name")
    if name is None or name == "":
        raise ProtocolError("missing_field", "name is required", field="name")
    if not isinstance(name, str) or not QUEUE_NAME.fullmatch(name):
        raise ProtocolError("invalid_value", "name must be 1 to 63 lower-case letters, digits, _ or -, "
                            "starting with a letter or digit", field="name")
    form = _queue_settings(obj)
    return QueueForm(name, form.settings, form.members)


def parse_queue_changes(body: bytes) -> QueueForm:
    """``PATCH /api/queues/{queue}``: the settings given."""
    obj = decode_object(body)
    if "name" in obj:
        raise ProtocolError("invalid_value", "a queue's name cannot change", field="name")
    _only(obj, _QUEUE_FIELDS)
    return _queue_settings(obj)


def parse_mail_preview(body: bytes) -> tuple[str, dict[str, dict[str, str]] | None]:
    """``POST /api/queues/{queue}/mail-preview``: ``language`` and optionally ``mail_templates``."""
    obj = decode_object(body)
    _only(obj, ("language", "mail_templates"))
    language = obj.get("language")
    if language not in TEMPLATE_LANGUAGES:
        raise ProtocolError("invalid_value", f"language must be one of {', '.join(TEMPLATE_LANGUAGES)}",
                            field="language")
    templates = _mail_templates(obj["mail_templates"]) if obj.get("mail_templates") is not None else None
    return language, templates


# ---- canned messages ------------------------------------------------------------------------

def _canned_queue(obj: dict[str, Any]) -> str | None:
    value = obj.get("queue")
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ProtocolError("invalid_value", "queue must be a queue's name, or null for every queue", field="queue")
    return value


def parse_new_canned(body: bytes) -> tuple[str, str, str | None]:
    """``POST /api/canned``: ``title``, ``text``, ``queue`` (null or absent: every queue)."""
    obj = decode_object(body)
    _only(obj, ("title", "text", "queue"))
    title = _line(obj, "title", MAX_CANNED_TITLE_CHARS, required=True) or ""
    text = text_field(obj, "text", max_chars=MAX_CANNED_TEXT_CHARS) or ""
    return title, text, _canned_queue(obj)


def parse_canned_changes(body: bytes) -> dict[str, Any]:
    """``PATCH /api/canned/{id}``: any of ``title``, ``text``, ``queue``."""
    obj = decode_object(body)
    _only(obj, ("title", "text", "queue"))
    changes: dict[str, Any] = {}
    if "title" in obj:
        changes["title"] = _line(obj, "title", MAX_CANNED_TITLE_CHARS, required=True)
    if "text" in obj:
        changes["text"] = text_field(obj, "text", max_chars=MAX_CANNED_TEXT_CHARS)
    if "queue" in obj:
        changes["queue"] = _canned_queue(obj)
    return changes


# ---- FAQ entries ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FaqForm:
    queue: str | None
    question: str | None
    answer: str | None


def _faq_fields(obj: dict[str, Any], *, required: bool) -> FaqForm:
    queue = None
    if required or "queue" in obj:
        value = obj.get("queue")
        if value is None or value == "":
            raise ProtocolError("missing_field", "queue is required", field="queue")
        if not isinstance(value, str) or len(value) > 200:
            raise ProtocolError("invalid_value", "queue must be a queue's name", field="queue")
        queue = value
    question = (_line(obj, "question", MAX_FAQ_QUESTION_CHARS, required=True)
                if required or "question" in obj else None)
    answer = (text_field(obj, "answer", max_chars=MAX_FAQ_ANSWER_CHARS)
              if required or "answer" in obj else None)
    return FaqForm(queue, question, answer)


def parse_new_faq(body: bytes) -> FaqForm:
    """``POST /api/faq``: ``queue``, ``question`` (one line, at most 500 characters), ``answer``
    (at most 5,000)."""
    obj = decode_object(body)
    _only(obj, ("queue", "question", "answer"))
    return _faq_fields(obj, required=True)


def parse_faq_changes(body: bytes) -> FaqForm:
    """``PATCH /api/faq/{id}``: any of ``queue``, ``question``, ``answer`` (None: unchanged)."""
    obj = decode_object(body)
    _only(obj, ("queue", "question", "answer"))
    return _faq_fields(obj, required=False)


# ---- the audit log --------------------------------------------------------------------------

def parse_audit_query(since: str | None, limit: str | None) -> tuple[datetime | None, int]:
    """``GET /api/audit?since=time&limit=N``: ``since`` an ISO 8601 time (UTC when it names no zone)."""
    at = None
    if since:
        try:
            at = datetime.fromisoformat(since.replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            raise ProtocolError("invalid_value", "since must be an ISO 8601 time such as 2026-01-31T12:00:00Z",
                                field="since") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
    count = DEFAULT_AUDIT_PAGE
    if limit:
        if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= MAX_AUDIT_PAGE:
            raise ProtocolError("invalid_value", f"limit must be a number from 1 to {MAX_AUDIT_PAGE}", field="limit")
        count = int(limit)
    return at, count
