"""Validation of HTTP request bodies (the pre-chat form, logins, offline requests).

Each ``parse_*`` takes the raw body and returns a typed form or raises ``ProtocolError`` with
the status-mapped code of PROTOCOL.md §3 (``bad_json``, ``missing_field``, ``invalid_value``,
``invalid_email``) and the field it concerns. E-mail addresses are checked by
``email-validator`` (syntax, and with ``FRONTDESK_CHECK_EMAIL_DOMAIN=1`` that the domain
resolves — a DNS lookup, so that variant runs in a worker thread). A verified identity's values
become the customer's name and address, which reach mail headers: its e-mail is validated like
the form's, its name may hold no control character (PROTOCOL.md §13) and its hmac is hex.

A queue with a consent notice (``QueueConfig.consent_notice``) needs ``"consent": true`` on both
forms (``require_consent``); ``consent`` is a boolean wherever it is given.

Both forms may say the customer's ``language`` (a language tag such as ``de`` or ``en-GB``; the
widget sends the language it shows): mails about the request or chat and the system messages the
customer reads follow it (German for ``de``, English otherwise).

A body that orjson refuses is ``bad_json`` when it is not JSON at all; when it is JSON by the
grammar but holds what no field may hold (a lone surrogate, a number beyond a double) the error is
``invalid_value`` naming where it is, as ``protocol/frames.py`` answers the same frame. A name
reaches mail, so it may hold no control character or line separator (PROTOCOL.md §13), and the
names of ``fields`` are stored as JSON keys, which PostgreSQL's ``jsonb`` refuses with a NUL.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio
from email_validator import EmailNotValidError, validate_email

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.protocol import loose_json
from frontdesk.engine.protocol.frames import MAX_ATTACHMENTS, MAX_TEXT_CHARS

MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_QUESTION_CHARS = 10_000
MAX_FIELD_CHARS = 1_000
MAX_HMAC_HEX_DIGITS = 128
HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")
MAX_LANGUAGE_CHARS = 35
# Cc: C0, DEL and C1 controls; Zl and Zp: line and paragraph separators, which the email package
# also reads as line ends (str.splitlines) and refuses in a header
CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def decode_object(body: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _refused_json(body) from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", "the body must be a JSON object")
    return obj


def _refused_json(body: bytes) -> ProtocolError:
    """Why orjson refused ``body``: not JSON (bad_json), or JSON with a value no field may hold."""
    try:
        obj = loose_json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):     # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return ProtocolError("bad_json", "the body is not valid JSON")
    if not isinstance(obj, dict):
        return ProtocolError("bad_json", "the body must be a JSON object")
    what, path = _unholdable(obj)
    if what is None:
        return ProtocolError("bad_json", "the body is not valid JSON")
    where = "a field name" if path is None else path
    return ProtocolError("invalid_value", f"{where} holds {what}", field=path)


def _unholdable(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """What no field may hold (a lone surrogate in a string or a key, a number past a double) and its
    path, first found in ``obj``; (None, None) when there is none."""
    found = loose_json.first_value(obj, lambda v: (isinstance(v, str) and not _storable(v))
                                   or (isinstance(v, float) and not math.isfinite(v)))
    if found is None:
        return None, None
    return ("a lone surrogate" if isinstance(found[0], str) else "a number out of range"), found[1]


def _storable(value: str) -> bool:
    """PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate (orjson refuses those already)."""
    return "\x00" not in value and (value.isascii() or not any("\ud800" <= c <= "\udfff" for c in value))


def text_field(obj: dict[str, Any], name: str, *, max_chars: int, required: bool = True,
               prefix: str = "") -> str | None:
    value = obj.get(name)
    path = prefix + name
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ProtocolError("missing_field", f"{path} is required", field=path)
        return None
    if not isinstance(value, str):
        raise ProtocolError("invalid_value", f"{path} must be a string", field=path)
    if len(value) > max_chars:
        raise ProtocolError("invalid_value", f"{path} is longer than {max_chars} characters", field=path)
    if not _storable(value):
        raise ProtocolError("invalid_value", f"{path} contains a NUL character", field=path)
    return value.strip()


async def checked_email(value: str, *, field_name: str, check_domain: bool) -> str:
    """The normalised address, or ProtocolError(invalid_email)."""
    try:
        if check_domain:
            result = await trio.to_thread.run_sync(
                lambda: validate_email(value, check_deliverability=True))
        else:
            result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ProtocolError("invalid_email", str(exc), field=field_name) from None
    return str(result.normalized)


def has_control_character(value: str) -> bool:
    return any(unicodedata.category(c) in CONTROL_CATEGORIES for c in value)


@dataclass
class Login:
    email: str
    password: str


def parse_login(body: bytes) -> Login:
    obj = decode_object(body)
    email = text_field(obj, "email", max_chars=MAX_EMAIL_CHARS)
    password = obj.get("password")
    if password is None or password == "":
        raise ProtocolError("missing_field", "password is required", field="password")
    if not isinstance(password, str) or len(password) > 1000:
        raise ProtocolError("invalid_value", "password must be a string", field="password")
    return Login(email or "", password)


@dataclass
class Identity:
    email: str          # normalised, as stored once verified
    signed_email: str   # as sent: what the hmac covers
    name: str | None
    hmac: str


@dataclass
class ChatForm:
    queue: str
    name: str
    email: str
    question: str
    fields: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None
    consent: bool = False
    language: str | None = None


def require_consent(consent: bool, notice: str | None) -> None:
    """A queue that shows a consent notice takes a form only once the customer has agreed to it."""
    if notice and not consent:
        raise ProtocolError("missing_field", "consent to the queue's notice is required", field="consent")


def require_fields(form: ChatForm, names: Sequence[str]) -> None:
    """The queue's extra fields must all be filled in."""
    for name in names:
        if name not in form.fields:
            raise ProtocolError("missing_field", f"fields.{name} is required", field=f"fields.{name}")


def form_rules(required_fields: Sequence[str], consent_notice: str | None) -> dict[str, Any]:
    """What the pre-chat and offline forms of a queue must hold, from the constants and rules that
    ``parse_chat`` and ``parse_offline_request`` check: the customer's page validates with it as the
    customer types, and the server still decides."""
    return {
        "name": {"required": True, "max_chars": MAX_NAME_CHARS, "no_control_characters": True},
        "email": {"required": True, "max_chars": MAX_EMAIL_CHARS, "format": "email"},
        "question": {"required": True, "max_chars": MAX_QUESTION_CHARS},
        "fields": {"required": list(required_fields), "max_chars": MAX_FIELD_CHARS},
        "consent": {"required": bool(consent_notice)},
    }


async def parse_chat(body: bytes, *, check_domain: bool = False) -> ChatForm:
    """The pre-chat form of ``POST /api/chats`` (the queue's extra fields: ``require_fields``)."""
    obj = decode_object(body)
    base = await _parse_contact(obj, check_domain=check_domain)
    fields_obj = obj.get("fields")
    if fields_obj is None:
        fields_obj = {}
    if not isinstance(fields_obj, dict):
        raise ProtocolError("invalid_value", "fields must be an object", field="fields")
    fields: dict[str, str] = {}
    for key in fields_obj:
        if "\x00" in key:
            raise ProtocolError("invalid_value", "a name in fields contains a NUL character", field="fields")
        value = text_field(fields_obj, key, max_chars=MAX_FIELD_CHARS, required=False, prefix="fields.")
        if value is not None:
            fields[str(key)] = value
    identity = None
    ident = obj.get("identity")
    if ident is not None:
        identity = await _parse_identity(ident, check_domain=check_domain)
    return ChatForm(queue=base.queue, name=base.name, email=base.email, question=base.question,
                    fields=fields, identity=identity, consent=base.consent, language=base.language)


async def _parse_identity(ident: Any, *, check_domain: bool) -> Identity:
    if not isinstance(ident, dict):
        raise ProtocolError("invalid_value", "identity must be an object", field="identity")
    signed_email = text_field(ident, "email", max_chars=MAX_EMAIL_CHARS, prefix="identity.") or ""
    email = await checked_email(signed_email, field_name="identity.email", check_domain=check_domain)
    name = text_field(ident, "name", max_chars=MAX_NAME_CHARS, required=False, prefix="identity.")
    if name is not None and has_control_character(name):
        raise ProtocolError("invalid_value", "identity.name contains a control character", field="identity.name")
    hmac = text_field(ident, "hmac", max_chars=MAX_HMAC_HEX_DIGITS, prefix="identity.") or ""
    if not HEX_DIGITS.fullmatch(hmac):
        raise ProtocolError("invalid_value", "identity.hmac must be hex digits", field="identity.hmac")
    return Identity(email=email, signed_email=signed_email, name=name, hmac=hmac)


@dataclass
class Contact:
    queue: str
    name: str
    email: str
    question: str
    consent: bool = False
    language: str | None = None


def language_field(obj: dict[str, Any]) -> str | None:
    """The optional ``language``: a language tag (``de``, ``de-CH``, ``en``), None when absent."""
    value = text_field(obj, "language", max_chars=MAX_LANGUAGE_CHARS, required=False)
    if value is not None and (not LANGUAGE.fullmatch(value) or has_control_character(str(obj["language"]))):
        raise ProtocolError("invalid_value", "language must be a language tag such as de or en", field="language")
    return value


def _consent(obj: dict[str, Any]) -> bool:
    value = obj.get("consent")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProtocolError("invalid_value", "consent must be true or false", field="consent")
    return value


async def _parse_contact(obj: dict[str, Any], *, check_domain: bool) -> Contact:
    queue = text_field(obj, "queue", max_chars=100) or ""
    name = text_field(obj, "name", max_chars=MAX_NAME_CHARS) or ""
    if has_control_character(name):
        raise ProtocolError("invalid_value", "name contains a control character", field="name")
    raw_email = text_field(obj, "email", max_chars=MAX_EMAIL_CHARS) or ""
    email = await checked_email(raw_email, field_name="email", check_domain=check_domain)
    question = text_field(obj, "question", max_chars=MAX_QUESTION_CHARS) or ""
    return Contact(queue, name, email, question, _consent(obj), language_field(obj))


async def parse_offline_request(body: bytes, *, check_domain: bool = False) -> Contact:
    """``POST /api/offline-requests``: validated like the pre-chat form."""
    return await _parse_contact(decode_object(body), check_domain=check_domain)


@dataclass
class Outreach:
    """``POST /api/conversations``: the business writes first (PROTOCOL.md §7)."""

    queue: str
    text: str
    customer_id: str | None
    email: str | None
    attachments: list[str]


async def parse_outreach(body: bytes, *, check_domain: bool = False) -> Outreach:
    obj = decode_object(body)
    queue = text_field(obj, "queue", max_chars=100) or ""
    text = text_field(obj, "text", max_chars=MAX_TEXT_CHARS) or ""
    customer_id = text_field(obj, "customer_id", max_chars=100, required=False)
    raw_email = text_field(obj, "email", max_chars=MAX_EMAIL_CHARS, required=False)
    if (customer_id is None) == (raw_email is None):
        raise ProtocolError("missing_field", "name the customer by customer_id or by email (one of them)",
                            field="customer_id")
    email = await checked_email(raw_email, field_name="email", check_domain=check_domain) if raw_email else None
    attachments = obj.get("attachments", [])
    if (not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS
            or not all(isinstance(a, str) and 0 < len(a) <= 100 for a in attachments)):
        raise ProtocolError("invalid_value", f"attachments must be a list of at most {MAX_ATTACHMENTS} upload ids",
                            field="attachments")
    return Outreach(queue, text, customer_id, email, list(attachments))
