"""SQL of customers and their accounts (PROTOCOL.md §6): the customer records, one-time codes,
account tokens, and the mails and SMS an account sends. (A signed-in customer's conversations are
``queries.account_conversations``, which the account's websocket reads too.)

As in ``queries.py``: functions named for a write return a ``Statement`` for the Persister; the
``async`` ones read (or change and return rows) through ``Database``.

Mails and SMS to a customer take their recipient from the customer's row (``mail_to_customer``,
``sms_to_customer``), never from a request; and for a customer id that matches no row they
write nothing. A code request for an unknown address runs the same statements with an id of no
customer: the same work as for a known one, so neither answer nor time tells them apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from frontdesk.engine.storage.db import Database, Row, Statement

CUSTOMER_COLUMNS = "id, name, email, mobile, external_id, language, created_at, activated_at"


def _uuid(value: str) -> uuid.UUID | None:
    """A UUID from a client-supplied id, or None when it cannot be one (then it matches nothing)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


# ---- customer records -----------------------------------------------------------------------

def insert_customer(customer_id: str, name: str, email: str, mobile: str | None, external_id: str | None,
                    language: str, created_at: datetime) -> Statement:
    return (f"INSERT INTO customers ({CUSTOMER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            (uuid.UUID(customer_id), name, email, mobile, external_id, language, created_at))


async def customer(db: Database, customer_id: str) -> Row | None:
    cid = _uuid(customer_id)
    if cid is None:
        return None
    return await db.fetchrow(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1", cid)


async def writable_queues(db: Database, customer_id: str) -> list[Row]:
    """The messaging queues a signed-in customer may start a conversation in (queue, title): the
    queue of the customer's latest conversation first (their branch), then by name."""
    return await db.fetch(
        "SELECT q.name AS queue, q.title FROM queues q WHERE q.mode = 'messaging' "
        "ORDER BY q.name = (SELECT c.queue FROM conversations c WHERE c.customer_id = $1 "
        "ORDER BY c.last_activity_at DESC NULLS LAST LIMIT 1) DESC NULLS LAST, q.name",
        _uuid(customer_id))


async def customer_by_email(db: Database, email: str) -> Row | None:
    """The customer with ``email`` (compared case-insensitively), with its sign-in columns."""
    return await db.fetchrow(
        f"SELECT {CUSTOMER_COLUMNS}, password_hash, password_change_required FROM customers "
        "WHERE lower(email) = lower($1)", email)


async def conflicting_field(db: Database, email: str | None, mobile: str | None, external_id: str | None,
                            other_than: str | None = None) -> str | None:
    """The first of ``email``, ``mobile``, ``external_id`` that another customer has (None: none)."""
    row = await db.fetchrow(
        "SELECT bool_or(lower(email) = lower($1)) AS email, bool_or(mobile = $2) AS mobile, "
        "bool_or(external_id = $3) AS external_id FROM customers "
        "WHERE (lower(email) = lower($1) OR mobile = $2 OR external_id = $3) "
        "AND ($4::uuid IS NULL OR id <> $4)",
        email, mobile, external_id, _uuid(other_than) if other_than else None)
    for name in ("email", "mobile", "external_id"):
        if row is not None and row[name]:
            return name
    return None


async def update_customer(db: Database, customer_id: str, changes: Mapping[str, Any]) -> Row | None:
    """Set ``changes`` (some of name, mobile, external_id, language) and return the row; None when
    there is no such customer or its external id, once set, would change (it never does).

    Raises ``UniqueViolation`` when another customer has the mobile or external id."""
    cid = _uuid(customer_id)
    if cid is None:
        return None
    columns = [c for c in ("name", "mobile", "external_id", "language") if c in changes]
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2)) or "id = id"
    # a set external id stays: the row is changed only when it is unset or given unchanged
    guard = (f" AND (external_id IS NULL OR external_id = ${columns.index('external_id') + 2})"
             if "external_id" in columns else "")
    return await db.fetchrow(f"UPDATE customers SET {sets} WHERE id = $1{guard} RETURNING {CUSTOMER_COLUMNS}",
                             cid, *(changes[c] for c in columns))


def activate(customer_id: str, at: datetime) -> Statement:
    """Activated by the business (first time kept): the next sign-in must set a password."""
    return ("UPDATE customers SET activated_at = coalesce(activated_at, $2), password_change_required = true "
            "WHERE id = $1", (uuid.UUID(customer_id), at))


async def search(db: Database, q: str, limit: int, after: tuple[str, str] | None) -> list[Row]:
    """Customers whose name, e-mail address, mobile or external id contains ``q`` (any case), by name;
    ``after`` (lower-case name, id) is where the previous page ended."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    mobile = "".join(escaped.split())
    return await db.fetch(
        f"SELECT {CUSTOMER_COLUMNS}, lower(name) AS sort_name FROM customers "
        "WHERE ($1 = '' OR lower(name) LIKE '%' || $1 || '%' OR lower(email) LIKE '%' || $1 || '%' "
        "OR mobile LIKE '%' || $2 || '%' OR lower(external_id) LIKE '%' || $1 || '%') "
        "AND ($3::text IS NULL OR (lower(name), id) > ($3, $4::uuid)) "
        "ORDER BY lower(name), id LIMIT $5",
        escaped, mobile, after[0] if after else None, _uuid(after[1]) if after else None, limit)


# ---- one-time codes -------------------------------------------------------------------------

def set_code(customer_id: str, code_hash: bytes, purpose: str, tries: int, expires_at: datetime) -> Statement:
    """The customer's one live code, replacing any older one; nothing for an id of no customer."""
    return ("INSERT INTO customer_codes (customer_id, code_hash, purpose, tries_left, expires_at, created_at) "
            "SELECT $1::uuid, $2::bytea, $3::text, $4::int, $5::timestamptz, now() "
            "WHERE EXISTS (SELECT 1 FROM customers WHERE id = $1::uuid) "
            "ON CONFLICT (customer_id) DO UPDATE SET code_hash = excluded.code_hash, purpose = excluded.purpose, "
            "tries_left = excluded.tries_left, expires_at = excluded.expires_at, created_at = excluded.created_at",
            (uuid.UUID(customer_id), code_hash, purpose, tries, expires_at))


async def take_code_try(db: Database, customer_id: str) -> Row | None:
    """Use up one try of the customer's live code and return its hash and purpose; None when there
    is no live code (none, expired, or out of tries). A try is taken before the code is compared,
    in one statement, so attempts at the same time cannot share a try."""
    return await db.fetchrow(
        "UPDATE customer_codes SET tries_left = tries_left - 1 "
        "WHERE customer_id = $1 AND tries_left > 0 AND expires_at > now() RETURNING code_hash, purpose",
        uuid.UUID(customer_id))


async def exchange_code(db: Database, customer_id: str, code_hash: bytes, token_hash: bytes, restricted: bool,
                        expires_at: datetime) -> bool:
    """Spend the code with ``code_hash`` and store the account token it buys, in one statement and so
    one commit: True for the one caller that does."""
    row = await db.fetchrow(
        "WITH spent AS (DELETE FROM customer_codes WHERE customer_id = $1 AND code_hash = $2 RETURNING customer_id) "
        "INSERT INTO tokens (token_hash, kind, subject_id, customer_id, restricted, expires_at) "
        "SELECT $3, 'account', customer_id, customer_id, $4, $5 FROM spent RETURNING 1",
        uuid.UUID(customer_id), code_hash, token_hash, restricted, expires_at)
    return row is not None


# ---- account tokens -------------------------------------------------------------------------

def insert_account_token(token_hash: bytes, customer_id: str, restricted: bool, expires_at: datetime) -> Statement:
    cid = uuid.UUID(customer_id)
    return ("INSERT INTO tokens (token_hash, kind, subject_id, customer_id, restricted, expires_at) "
            "VALUES ($1, 'account', $2, $2, $3, $4)", (token_hash, cid, restricted, expires_at))


def set_password(customer_id: str, password_hash: str, token_hash: bytes,
                 token_expires_at: datetime) -> list[Statement]:
    """The customer's new password; the token that set it may do everything from now on."""
    cid = uuid.UUID(customer_id)
    return [("UPDATE customers SET password_hash = $2, password_change_required = false WHERE id = $1",
             (cid, password_hash)),
            ("UPDATE tokens SET restricted = false, expires_at = $3 WHERE token_hash = $1 AND kind = 'account' "
             "AND customer_id = $2", (token_hash, cid, token_expires_at))]


async def revoke_account_tokens(db: Database, token_hash: bytes, customer_id: str, everywhere: bool) -> list[bytes]:
    """Delete the account token ``token_hash``, and with ``everywhere`` every account and link token
    of the customer; returns the hashes of the tokens deleted."""
    rows = await db.fetch(
        "DELETE FROM tokens WHERE (token_hash = $1 AND kind = 'account') "
        "OR ($3 AND customer_id = $2 AND kind IN ('account', 'link')) RETURNING token_hash",
        token_hash, uuid.UUID(customer_id), everywhere)
    return [bytes(r["token_hash"]) for r in rows]


# ---- mail and SMS to a customer -------------------------------------------------------------

def mail_to_customer(mail_id: str, customer_id: str, subject: str, body_text: str, body_html: str,
                     qr_text: str | None = None) -> Statement:
    """A mail to the customer's stored address, with a QR code of ``qr_text`` in its HTML part when
    given; nothing for an id of no customer."""
    return ("INSERT INTO outbox (id, recipient, subject, body_text, body_html, qr_text) "
            "SELECT $1::uuid, email, $3::text, $4::text, $5::text, $6::text FROM customers WHERE id = $2::uuid",
            (uuid.UUID(mail_id), uuid.UUID(customer_id), subject, body_text, body_html, qr_text))


def sms_to_customer(sms_id: str, customer_id: str, text: str) -> Statement:
    """An SMS to the customer's stored mobile; nothing without one."""
    return ("INSERT INTO sms_outbox (id, recipient, text) "
            "SELECT $1::uuid, mobile, $3::text FROM customers WHERE id = $2::uuid AND mobile IS NOT NULL",
            (uuid.UUID(sms_id), uuid.UUID(customer_id), text))
