"""Validation of the customers' and accounts' request bodies and query arguments (PROTOCOL.md §6).

Each ``parse_*`` takes the raw body (or the query's values) and returns what it holds, or raises
``ProtocolError`` naming the field, as ``forms.py`` does for the pre-chat form: ``missing_field``,
``invalid_value``, ``invalid_email`` (422). Names, e-mail addresses, external ids and languages
may hold no control character (CR, LF, NUL, ...): they reach mails and the staff's screens. A
mobile is E.164 as stored: ``+`` and 8 to 15 digits, the first not 0; nothing is rewritten, so
one number has one spelling and its uniqueness holds.

List queries are paged by an opaque ``cursor`` (where the previous page ended), made here too.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.edge.forms import (
    LANGUAGE,
    MAX_EMAIL_CHARS,
    MAX_LANGUAGE_CHARS,
    MAX_NAME_CHARS,
    checked_email,
    decode_object,
    has_control_character,
    text_field,
)
from frontdesk.engine.runtime.config import MIN_PASSWORD_CHARS

MOBILE = re.compile(r"\+[1-9][0-9]{7,14}")
MAX_EXTERNAL_ID_CHARS = 200
MAX_PASSWORD_CHARS = 1000
MAX_CODE_CHARS = 64
MAX_QUERY_CHARS = 200
DEFAULT_PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str
    mobile: str | None
    external_id: str | None
    language: str


@dataclass(frozen=True)
class CustomerLogin:
    email: str
    code: str | None        # exactly one of code and password
    password: str | None


def _plain(obj: dict[str, Any], name: str, max_chars: int, *, required: bool) -> str | None:
    """A text field that may hold no control character, not even around it (it reaches mails and
    screens; a value is refused as sent, not trimmed into one that passes)."""
    raw = obj.get(name)
    if isinstance(raw, str) and has_control_character(raw):
        raise ProtocolError("invalid_value", f"{name} contains a control character", field=name)
    return text_field(obj, name, max_chars=max_chars, required=required)


def _mobile(obj: dict[str, Any]) -> str | None:
    value = _plain(obj, "mobile", 32, required=False)
    if value is not None and not MOBILE.fullmatch(value):
        raise ProtocolError("invalid_value", "mobile must be E.164: + and 8 to 15 digits, e.g. +4915112345678",
                            field="mobile")
    return value


def _language(obj: dict[str, Any], *, required: bool) -> str | None:
    value = _plain(obj, "language", MAX_LANGUAGE_CHARS, required=required)
    if value is not None and not LANGUAGE.fullmatch(value):
        raise ProtocolError("invalid_value", "language must be a language tag such as de or en", field="language")
    return value


async def _email(obj: dict[str, Any]) -> str:
    raw = _plain(obj, "email", MAX_EMAIL_CHARS, required=True) or ""
    return await checked_email(raw, field_name="email", check_domain=False)


async def parse_new_customer(body: bytes) -> NewCustomer:
    """``POST /api/customers``."""
    obj = decode_object(body)
    name = _plain(obj, "name", MAX_NAME_CHARS, required=True) or ""
    email = await _email(obj)
    return NewCustomer(name, email, _mobile(obj), _plain(obj, "external_id", MAX_EXTERNAL_ID_CHARS, required=False),
                       _language(obj, required=False) or "en")


def parse_customer_changes(body: bytes) -> dict[str, str | None]:
    """``PATCH /api/customers/{id}``: the fields given (``mobile`` and ``external_id`` may be null)."""
    obj = decode_object(body)
    changes: dict[str, str | None] = {}
    if "email" in obj:
        raise ProtocolError("invalid_value", "email cannot be changed", field="email")
    if "name" in obj:
        changes["name"] = _plain(obj, "name", MAX_NAME_CHARS, required=True)
    if "mobile" in obj:
        changes["mobile"] = _mobile(obj)
    if "external_id" in obj:
        changes["external_id"] = _plain(obj, "external_id", MAX_EXTERNAL_ID_CHARS, required=False)
    if "language" in obj:
        changes["language"] = _language(obj, required=True)
    return changes


async def parse_code_request(body: bytes) -> str:
    """``POST /api/customers/code``: the e-mail address, normalised."""
    return await _email(decode_object(body))


def parse_customer_login(body: bytes) -> CustomerLogin:
    """``POST /api/customers/login``: the address and a code or a password. The address is only
    looked up, so it is not validated: an unknown or malformed one is a failed sign-in like any."""
    obj = decode_object(body)
    email = text_field(obj, "email", max_chars=MAX_EMAIL_CHARS) or ""
    code, password = obj.get("code"), obj.get("password")
    if code is not None and password is not None:
        raise ProtocolError("invalid_value", "give either code or password, not both", field="password")
    if password is not None:
        return CustomerLogin(email, None, _password(password, min_chars=1))
    if code is None or code == "":
        raise ProtocolError("missing_field", "code or password is required", field="code")
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        raise ProtocolError("invalid_value", "code must be the digits of the code as a string", field="code")
    return CustomerLogin(email, "".join(code.split()), None)     # "123 456" as mailed in groups


def _password(value: Any, *, min_chars: int) -> str:
    if value is None or value == "":
        raise ProtocolError("missing_field", "password is required", field="password")
    if not isinstance(value, str) or len(value) > MAX_PASSWORD_CHARS:
        raise ProtocolError("invalid_value", f"password must be a string of at most {MAX_PASSWORD_CHARS} characters",
                            field="password")
    if len(value) < min_chars:
        raise ProtocolError("invalid_value", f"password must have at least {min_chars} characters", field="password")
    return value


def parse_new_password(body: bytes) -> str:
    """``POST /api/customers/password``: at least ``MIN_PASSWORD_CHARS`` characters."""
    return _password(decode_object(body).get("password"), min_chars=MIN_PASSWORD_CHARS)


def parse_logout(body: bytes) -> bool:
    """``POST /api/customers/logout``: whether to sign out everywhere (no body: only this token)."""
    if not body.strip():
        return False
    everywhere = decode_object(body).get("everywhere", False)
    if not isinstance(everywhere, bool):
        raise ProtocolError("invalid_value", "everywhere must be true or false", field="everywhere")
    return everywhere


# ---- list queries ---------------------------------------------------------------------------

def parse_query(value: str | None) -> str:
    q = (value or "").strip()
    if len(q) > MAX_QUERY_CHARS or "\x00" in q:
        raise ProtocolError("invalid_value", f"q must be at most {MAX_QUERY_CHARS} characters of text", field="q")
    return q


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PAGE
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise ProtocolError("invalid_value", f"limit must be a number from 1 to {MAX_PAGE}", field="limit")
    return int(value)


def encode_cursor(*values: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def parse_cursor(value: str | None) -> tuple[str, str] | None:
    """The (sort key, id) a page ended at, from the ``cursor`` of the page before; None for the first."""
    if not value:
        return None
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        decoded = None
    if (not isinstance(decoded, list) or len(decoded) != 2
            or not all(isinstance(v, str) and "\x00" not in v for v in decoded)):
        raise ProtocolError("invalid_value", "cursor is not one this API gave", field="cursor")
    return decoded[0], decoded[1]
