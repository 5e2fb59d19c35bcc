"""Validation of HTTP request bodies (the pre-chat form, logins, offline requests).

Each ``parse_*`` takes the raw body and returns a typed form or raises ``ProtocolError`` with
the status-mapped code of PROTOCOL.md §3 (``bad_json``, ``missing_field``, ``invalid_value``,
``invalid_email``) and the field it concerns. E-mail addresses are checked by
``email-validator`` (syntax, and with ``FRONTDESK_CHECK_EMAIL_DOMAIN=1`` that the domain
resolves — a DNS lookup, so that variant runs in a worker thread). A verified identity's values
become the customer's name and address, which reach mail headers: its e-mail is validated like
the form's, its name may hold no control character (PROTOCOL.md §13) and its hmac is hex.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio
from email_validator import EmailNotValidError, validate_email

from frontdesk.core.errors import ProtocolError

MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_QUESTION_CHARS = 10_000
MAX_FIELD_CHARS = 1_000
MAX_HMAC_HEX_DIGITS = 128
HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
# Cc: C0, DEL and C1 controls; Zl and Zp: line and paragraph separators, which the email package
# also reads as line ends (str.splitlines) and refuses in a header
CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def decode_object(body: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ProtocolError("bad_json", "the body is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", "the body must be a JSON object")
    return obj


def _storable(value: str) -> bool:
    """PostgreSQL text cannot hold NUL; orjson already refuses lone surrogates."""
    return "\x00" not in value


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


def require_fields(form: ChatForm, names: Sequence[str]) -> None:
    """The queue's extra fields must all be filled in."""
    for name in names:
        if name not in form.fields:
            raise ProtocolError("missing_field", f"fields.{name} is required", field=f"fields.{name}")


async def parse_chat(body: bytes, *, check_domain: bool = False) -> ChatForm:
    """The pre-chat form of ``POST /api/chats`` (the queue's extra fields: ``require_fields``)."""
    obj = decode_object(body)
    base = await _parse_contact(obj, check_domain=check_domain)
    fields_obj = obj.get("fields") or {}
    if not isinstance(fields_obj, dict):
        raise ProtocolError("invalid_value", "fields must be an object", field="fields")
    fields: dict[str, str] = {}
    for key in fields_obj:
        value = text_field(fields_obj, key, max_chars=MAX_FIELD_CHARS, required=False, prefix="fields.")
        if value is not None:
            fields[str(key)] = value
    identity = None
    ident = obj.get("identity")
    if ident is not None:
        identity = await _parse_identity(ident, check_domain=check_domain)
    return ChatForm(queue=base.queue, name=base.name, email=base.email, question=base.question,
                    fields=fields, identity=identity)


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


async def _parse_contact(obj: dict[str, Any], *, check_domain: bool) -> Contact:
    queue = text_field(obj, "queue", max_chars=100) or ""
    name = text_field(obj, "name", max_chars=MAX_NAME_CHARS) or ""
    raw_email = text_field(obj, "email", max_chars=MAX_EMAIL_CHARS) or ""
    email = await checked_email(raw_email, field_name="email", check_domain=check_domain)
    question = text_field(obj, "question", max_chars=MAX_QUESTION_CHARS) or ""
    return Contact(queue, name, email, question)


async def parse_offline_request(body: bytes, *, check_domain: bool = False) -> Contact:
    """``POST /api/offline-requests``: validated like the pre-chat form."""
    return await _parse_contact(decode_object(body), check_domain=check_domain)
