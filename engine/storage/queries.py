"""SQL of the engine as plain functions.

Two kinds: functions named for a write return a ``Statement`` (SQL + arguments) for the
Persister to put into a group commit; ``async`` functions read through ``Database`` and
return rows. No other module of the engine writes SQL but those beside it: ``customers.py``
(customers and their accounts), ``sms_outbox.py`` and ``ratings.py``.

The writes a busy engine makes many of at once also have a form for many rows (``BULK``, see
``commit_plan.py``): the same change for every row of arrays passed as ``$1``, ``$2``, … (one
array per argument of the one-row statement, in its order), so one commit is one statement.
``tests/e2e/storage/test_bulk_forms.py`` checks that each leaves the tables as its one-row statements do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import Any, NamedTuple

from frontdesk.engine.storage.commit_plan import Bulk
from frontdesk.engine.storage.db import Database, Row, Statement
from frontdesk.engine.storage.outbox_rows import OutboxRows

BULK: dict[str, Bulk] = {}


def schema_sql() -> str:
    """The whole schema (``schema.sql`` at the top of the repository), idempotent."""
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def _with_bulk(sql: str, many: str, json: tuple[int, ...] = ()) -> str:
    """Register ``many`` as the form of ``sql`` for many rows; returns ``sql``."""
    BULK[sql] = Bulk(many, json)
    return sql


def _uuid(value: str) -> uuid.UUID | None:
    """A UUID from a client-supplied id, or None when it cannot be one (then it matches nothing)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


# ---- staff and tokens -----------------------------------------------------------------------

async def staff_by_email(db: Database, email: str, role: str) -> Row | None:
    return await db.fetchrow(
        "SELECT id, role, email, name, password_hash, capacity, presence FROM staff "
        "WHERE lower(email) = lower($1) AND role = $2 AND disabled_at IS NULL", email, role)


async def staff_profile(db: Database, staff_id: str) -> Row | None:
    sid = _uuid(staff_id)
    if sid is None:
        return None
    return await db.fetchrow(
        "SELECT s.id, s.role, s.email, s.name, s.capacity, s.presence, "
        "coalesce(array_agg(m.queue ORDER BY m.queue) FILTER (WHERE m.queue IS NOT NULL), '{}') AS queues "
        "FROM staff s LEFT JOIN queue_members m ON m.staff_id = s.id WHERE s.id = $1 GROUP BY s.id", sid)


async def all_agents(db: Database) -> list[Row]:
    return await db.fetch(
        "SELECT s.id, s.name, s.email, s.capacity, s.presence, "
        "coalesce(array_agg(m.queue) FILTER (WHERE m.queue IS NOT NULL), '{}') AS queues "
        "FROM staff s LEFT JOIN queue_members m ON m.staff_id = s.id WHERE s.role = 'agent' AND s.disabled_at IS NULL "
        "GROUP BY s.id")


async def colleagues(db: Database) -> list[Row]:
    """Every agent with presence and load as the Router last wrote them (``agent_status``; offline
    without a row), by name: what the agent console offers for a named invitation."""
    return await db.fetch(
        "SELECT s.id, s.name, coalesce(st.presence, 'offline') AS presence, "
        "coalesce(st.open_conversations, 0) AS open_conversations, s.capacity, "
        "coalesce(array_agg(m.queue ORDER BY m.queue) FILTER (WHERE m.queue IS NOT NULL), '{}') AS queues "
        "FROM staff s LEFT JOIN agent_status st ON st.agent_id = s.id LEFT JOIN queue_members m ON m.staff_id = s.id "
        "WHERE s.role = 'agent' AND s.disabled_at IS NULL GROUP BY s.id, st.agent_id ORDER BY lower(s.name), s.id")


_INSERT_TOKEN = _with_bulk(
    "INSERT INTO tokens (token_hash, kind, subject_id, expires_at) VALUES ($1, $2, $3, $4)",
    "INSERT INTO tokens (token_hash, kind, subject_id, expires_at) "
    "SELECT * FROM unnest($1::bytea[], $2::text[], $3::uuid[], $4::timestamptz[])")


def insert_token(token_hash: bytes, kind: str, subject_id: str, expires_at: datetime) -> Statement:
    return _INSERT_TOKEN, (token_hash, kind, uuid.UUID(subject_id), expires_at)


def revoke_token(token_hash: bytes, kind: str) -> Statement:
    """Sign-out: the token is deleted, so every later lookup finds it unknown."""
    return "DELETE FROM tokens WHERE token_hash = $1 AND kind = $2", (token_hash, kind)


async def hello_subjects(db: Database, token_hashes: list[bytes]) -> list[Row]:
    """Who websocket ``hello`` tokens name (one row per live token, with its ``token_hash``), with
    the staff profile when a token names staff: one query for a whole batch of hellos
    (``token_resolver.py``); an agent's hello once made two round trips (token, then profile).

    A restricted token (a customer who must set a password first) names nobody here: it may only
    set a password, so its hello is refused like an unknown token's."""
    return await db.fetch(
        "SELECT t.token_hash, t.kind, t.subject_id, t.expires_at, s.role, s.email, s.name, s.capacity, s.presence, "
        "coalesce((SELECT array_agg(m.queue ORDER BY m.queue) FROM queue_members m WHERE m.staff_id = s.id), "
        "'{}') AS queues "
        "FROM tokens t LEFT JOIN staff s ON t.kind IN ('agent', 'supervisor') AND s.id = t.subject_id "
        "WHERE t.token_hash = ANY($1::bytea[]) AND t.expires_at > now() AND NOT t.restricted "
        "AND s.disabled_at IS NULL", token_hashes)


async def token_subject(db: Database, token_hash: bytes) -> Row | None:
    return await db.fetchrow(
        "SELECT kind, subject_id, restricted FROM tokens WHERE token_hash = $1 AND expires_at > now()", token_hash)


def set_chosen_presence(agent_id: str, state: str) -> Statement:
    return ("UPDATE staff SET presence = $2 WHERE id = $1", (uuid.UUID(agent_id), state))


def log_presence(agent_id: str, state: str, by: str) -> Statement:
    return ("INSERT INTO presence_log (agent_id, state, by) VALUES ($1, $2, $3)",
            (uuid.UUID(agent_id), state, by))


# ---- queues ---------------------------------------------------------------------------------

async def queue(db: Database, name: str) -> Row | None:
    return await db.fetchrow(
        "SELECT name, opening_hours, closed_message, faq_suggestions, identity_secret, required_fields, "
        "language, transcript_mails, sender_name, mail_templates FROM queues WHERE name = $1", name)


async def queue_mail_templates(db: Database, name: str) -> dict[str, Any] | None:
    templates: dict[str, Any] | None = await db.fetchval("SELECT mail_templates FROM queues WHERE name = $1", name)
    return templates


async def all_queues(db: Database) -> list[Row]:
    return await db.fetch(
        "SELECT name, opening_hours, closed_message, faq_suggestions, identity_secret, required_fields, mode, "
        "consent_notice, transcript_mails, sender_name FROM queues ORDER BY name")


# ---- conversations and messages -------------------------------------------------------------

_INSERT_CONVERSATION = _with_bulk(
    "INSERT INTO conversations (id, queue, status, customer_name, customer_email, customer_verified, "
    "fields, queue_key, created_at, consent_at, language) VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10)",
    "INSERT INTO conversations (id, queue, status, customer_name, customer_email, customer_verified, "
    "fields, queue_key, created_at, consent_at, language) "
    "SELECT r.id, r.queue, 'queued', r.name, r.email, "
    "ARRAY(SELECT jsonb_array_elements_text(r.verified::jsonb)), r.fields::jsonb, r.queue_key, r.created_at, "
    "r.consent_at, r.language "
    "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], "
    "$8::timestamptz[], $9::timestamptz[], $10::text[]) AS r(id, queue, name, email, verified, fields, queue_key, "
    "created_at, consent_at, language)",
    json=(4, 5))


def insert_conversation(conversation_id: str, queue: str, name: str, email: str, verified: Sequence[str],
                        fields: dict[str, Any], queue_key: int, created_at: datetime,
                        consent_at: datetime | None = None, language: str | None = None) -> Statement:
    """``consent_at``: when the customer agreed to the queue's consent notice (None: it has none);
    ``language``: the pre-chat form's (None: the customer record's applies)."""
    return (_INSERT_CONVERSATION,
            (uuid.UUID(conversation_id), queue, name, email, list(verified), fields, queue_key, created_at,
             consent_at, language))


async def conversation_language(db: Database, conversation_id: str) -> str | None:
    """The language of a conversation's customer: the pre-chat form's, else the customer record's."""
    cid = _uuid(conversation_id)
    if cid is None:
        return None
    language: str | None = await db.fetchval(
        "SELECT coalesce(c.language, cu.language) FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id "
        "WHERE c.id = $1", cid)
    return language


async def customer_language(db: Database, email: str) -> str | None:
    """The language of the customer record with this address (None: there is none)."""
    language: str | None = await db.fetchval("SELECT language FROM customers WHERE lower(email) = lower($1)", email)
    return language


_INSERT_MESSAGE = _with_bulk(
    "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, "
    "client_id, text, private, attachments, options, option_id, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT DO NOTHING",
    "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, "
    "client_id, text, private, attachments, options, option_id, created_at) "
    "SELECT r.id, r.conversation_id, r.seq, r.sender_kind, r.sender_id, r.sender_name, r.sender_key, "
    "r.client_id, r.text, r.private, r.attachments::jsonb, r.options::jsonb, r.option_id, r.created_at "
    "FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::uuid[], $6::text[], $7::text[], "
    "$8::text[], $9::text[], $10::bool[], $11::text[], $12::text[], $13::text[], $14::timestamptz[]) "
    "AS r(id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, client_id, text, "
    "private, attachments, options, option_id, created_at) "
    "ON CONFLICT DO NOTHING",
    json=(10, 11))


def insert_message(m: dict[str, Any], sender_key: str) -> Statement:
    """``m`` is the wire form of a message (see conversation.py). Its ids are the engine's own, so they
    go as text: asyncpg encodes a ``str`` for a uuid column itself (no ``uuid.UUID`` per message)."""
    sender = m["sender"]
    return (_INSERT_MESSAGE,
            (m["id"], m["conversation_id"], m["seq"], sender["kind"],
             sender["id"], sender["name"], sender_key, m.get("client_id"),
             m["text"], m["private"], m["attachments"], m["options"], m["option_id"], m["_at"]))


# accepted_at keeps the first acceptance: a requeued chat's wait is measured to when it was first taken
_ASSIGN = _with_bulk(
    "UPDATE conversations SET status = 'active', owner_id = $2, accepted_at = coalesce(accepted_at, $3) "
    "WHERE id = $1",
    "UPDATE conversations c SET status = 'active', owner_id = r.owner_id, "
    "accepted_at = coalesce(c.accepted_at, r.at) "
    "FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS r(id, owner_id, at) WHERE c.id = r.id")
_JOIN_AS_OWNER = _with_bulk(
    "INSERT INTO participants (conversation_id, agent_id, role, joined_at) VALUES ($1, $2, 'owner', $3) "
    "ON CONFLICT (conversation_id, agent_id) DO UPDATE SET role = 'owner', left_at = NULL, joined_at = $3",
    "INSERT INTO participants (conversation_id, agent_id, role, joined_at) "
    "SELECT r.conversation_id, r.agent_id, 'owner', r.at "
    "FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS r(conversation_id, agent_id, at) "
    "ON CONFLICT (conversation_id, agent_id) DO UPDATE SET role = 'owner', left_at = NULL, "
    "joined_at = excluded.joined_at")


def assign_conversation(conversation_id: str, agent_id: str, at: datetime) -> list[Statement]:
    cid, aid = uuid.UUID(conversation_id), uuid.UUID(agent_id)
    return [(_ASSIGN, (cid, aid, at)), (_JOIN_AS_OWNER, (cid, aid, at))]


def requeue_conversation(conversation_id: str, agent_id: str, queue_key: int, at: datetime) -> list[Statement]:
    cid, aid = uuid.UUID(conversation_id), uuid.UUID(agent_id)
    return [("UPDATE conversations SET status = 'queued', owner_id = NULL, queue_key = $2 WHERE id = $1",
             (cid, queue_key)),
            ("UPDATE participants SET left_at = $3 WHERE conversation_id = $1 AND agent_id = $2", (cid, aid, at))]


_END = _with_bulk(
    "UPDATE conversations SET status = 'ended', ended_at = $2, ended_by = $3, end_reason = $4 WHERE id = $1",
    "UPDATE conversations c SET status = 'ended', ended_at = r.at, ended_by = r.by, end_reason = r.reason "
    "FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[]) AS r(id, at, by, reason) "
    "WHERE c.id = r.id")
_ALL_LEAVE = _with_bulk(
    "UPDATE participants SET left_at = $2 WHERE conversation_id = $1 AND left_at IS NULL",
    "UPDATE participants p SET left_at = r.at FROM unnest($1::uuid[], $2::timestamptz[]) AS r(id, at) "
    "WHERE p.conversation_id = r.id AND p.left_at IS NULL")


def park_conversation(conversation_id: str) -> Statement:
    """The conversation's actor kept crashing and is not restarted: marked for a supervisor."""
    return "UPDATE conversations SET parked_at = now() WHERE id = $1", (uuid.UUID(conversation_id),)


def end_conversation(conversation_id: str, by: str, reason: str, at: datetime) -> list[Statement]:
    cid = uuid.UUID(conversation_id)
    return [(_END, (cid, at, by, reason)), (_ALL_LEAVE, (cid, at))]


# A busy messaging queue sets many conversations aside, reopens and touches many in one commit:
# with a form for many rows each, such a commit stays one statement (commit_plan.py).
_SET_ASIDE = _with_bulk(
    "UPDATE conversations SET status = $2::text, last_owner_id = coalesce(owner_id, last_owner_id), "
    "owner_id = NULL, resolved_at = CASE WHEN $2::text = 'resolved' THEN $3::timestamptz END, "
    "last_activity_at = $3::timestamptz WHERE id = $1",
    "UPDATE conversations c SET status = r.status, last_owner_id = coalesce(c.owner_id, c.last_owner_id), "
    "owner_id = NULL, resolved_at = CASE WHEN r.status = 'resolved' THEN r.at END, last_activity_at = r.at "
    "FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS r(id, status, at) WHERE c.id = r.id")
_REOPEN = _with_bulk(
    "UPDATE conversations SET status = 'queued', queue_key = $2, resolved_at = NULL, last_activity_at = $3 "
    "WHERE id = $1",
    "UPDATE conversations c SET status = 'queued', queue_key = r.queue_key, resolved_at = NULL, "
    "last_activity_at = r.at FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS r(id, queue_key, at) "
    "WHERE c.id = r.id")
_TOUCH = _with_bulk(
    "UPDATE conversations SET last_activity_at = $2 WHERE id = $1",
    "UPDATE conversations c SET last_activity_at = r.at FROM unnest($1::uuid[], $2::timestamptz[]) AS r(id, at) "
    "WHERE c.id = r.id")


def set_aside(conversation_id: str, status: str, at: datetime) -> list[Statement]:
    """A messaging conversation becomes ``pending`` or ``resolved``: its owner is remembered as the
    last one (a reopening goes to them first) and every agent leaves it."""
    cid = uuid.UUID(conversation_id)
    return [(_SET_ASIDE, (cid, status, at)), (_ALL_LEAVE, (cid, at))]


def reopen_conversation(conversation_id: str, queue_key: int, at: datetime) -> Statement:
    """A customer wrote in a pending or resolved conversation: it waits again, at ``queue_key``."""
    return _REOPEN, (uuid.UUID(conversation_id), queue_key, at)


def touch_conversation(conversation_id: str, at: datetime) -> Statement:
    """The newest activity of a conversation: "my conversations" lists the newest first."""
    return _TOUCH, (uuid.UUID(conversation_id), at)


def arm_notification(conversation_id: str, after_s: float) -> Statement:
    """A public agent message the customer has not read: a mail is due after ``after_s``, unless one
    is due already or the customer has not read up to the last notified message (one mail per
    quiet period, PROTOCOL.md §14)."""
    return ("UPDATE conversations SET notify_due_at = now() + make_interval(secs => $2) "
            "WHERE id = $1 AND notify_due_at IS NULL AND notified_seq <= customer_read_seq",
            (uuid.UUID(conversation_id), after_s))


def disarm_notification(conversation_id: str, read_seq: int) -> Statement:
    """The customer read up to ``read_seq``: no mail about messages they have seen."""
    return ("UPDATE conversations SET notify_due_at = NULL WHERE id = $1 AND notify_due_at IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = $1 AND m.seq > $2 "
            "AND m.sender_kind = 'agent' AND NOT m.private)", (uuid.UUID(conversation_id), read_seq))


_CUSTOMER_READ = _with_bulk(
    "UPDATE conversations SET customer_read_seq = greatest(customer_read_seq, $2) WHERE id = $1",
    "UPDATE conversations c SET customer_read_seq = greatest(c.customer_read_seq, r.seq) "
    "FROM unnest($1::uuid[], $2::int[]) AS r(id, seq) WHERE c.id = r.id")
_AGENT_READ = _with_bulk(
    "UPDATE participants SET last_read_seq = greatest(last_read_seq, $3) WHERE conversation_id = $1 AND agent_id = $2",
    "UPDATE participants p SET last_read_seq = greatest(p.last_read_seq, r.seq) "
    "FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS r(id, agent_id, seq) "
    "WHERE p.conversation_id = r.id AND p.agent_id = r.agent_id")


def set_read(conversation_id: str, reader_kind: str, reader_id: str | None, seq: int) -> Statement:
    cid = uuid.UUID(conversation_id)
    if reader_kind == "customer":
        return _CUSTOMER_READ, (cid, seq)
    return _AGENT_READ, (cid, uuid.UUID(reader_id or ""), seq)


async def conversation(db: Database, conversation_id: str) -> Row | None:
    cid = _uuid(conversation_id)
    if cid is None:
        return None
    return await db.fetchrow("SELECT * FROM conversations WHERE id = $1", cid)


async def open_conversations(db: Database) -> list[Row]:
    """Every conversation waiting or owned, waiting ones in their queue order (pending and resolved
    messaging conversations are not actors until someone writes)."""
    return await db.fetch("SELECT * FROM conversations WHERE status IN ('queued', 'active') "
                          "ORDER BY queue, queue_key")


async def messages_of(db: Database, conversation_ids: Sequence[str]) -> list[Row]:
    return await db.fetch("SELECT * FROM messages WHERE conversation_id = ANY($1::uuid[]) "
                          "ORDER BY conversation_id, seq", [uuid.UUID(c) for c in conversation_ids])


async def messages_after(db: Database, conversation_id: str, after_seq: int, *, public_only: bool = False
                         ) -> list[Row]:
    """The conversation's messages with a higher seq than ``after_seq``, in order (``public_only``:
    those a customer may see)."""
    return await db.fetch("SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 "
                          "AND (NOT $3 OR NOT private) ORDER BY seq",
                          uuid.UUID(conversation_id), after_seq, public_only)


async def message_by_client_id(db: Database, conversation_id: str, sender_key: str, client_id: str) -> Row | None:
    """The message a sender sent with this client_id, if any."""
    return await db.fetchrow("SELECT * FROM messages WHERE conversation_id = $1 AND sender_key = $2 "
                             "AND client_id = $3", uuid.UUID(conversation_id), sender_key, client_id)


async def newest_messages_of(db: Database, conversation_ids: Sequence[str], count: int) -> list[Row]:
    """Each conversation's newest ``count`` messages, in order."""
    return await db.fetch(
        "SELECT * FROM (SELECT m.*, row_number() OVER (PARTITION BY conversation_id ORDER BY seq DESC) AS from_end "
        "FROM messages m WHERE conversation_id = ANY($1::uuid[])) newest WHERE from_end <= $2 "
        "ORDER BY conversation_id, seq", [uuid.UUID(c) for c in conversation_ids], count)


async def histories_of(db: Database, conversation_ids: Sequence[str]) -> list[Row]:
    """Per conversation, what its actor knows of its whole history: the question (seq 1), the last
    public seq, the newest public option menu, and every (sender_key, client_id) in seq order."""
    return await db.fetch(
        "SELECT conversation_id, max(text) FILTER (WHERE seq = 1) AS question, "
        "coalesce(max(seq) FILTER (WHERE NOT private), 0) AS last_public_seq, "
        "(array_agg(options ORDER BY seq DESC) FILTER (WHERE NOT private AND options IS NOT NULL))[1] AS menu, "
        "coalesce(array_agg(sender_key ORDER BY seq) FILTER (WHERE client_id IS NOT NULL), '{}') AS key_senders, "
        "coalesce(array_agg(client_id ORDER BY seq) FILTER (WHERE client_id IS NOT NULL), '{}') AS key_ids "
        "FROM messages WHERE conversation_id = ANY($1::uuid[]) GROUP BY conversation_id",
        [uuid.UUID(c) for c in conversation_ids])


async def participants_of(db: Database, conversation_ids: Sequence[str]) -> list[Row]:
    return await db.fetch(
        "SELECT p.conversation_id, p.agent_id, p.role, p.last_read_seq, s.name FROM participants p "
        "JOIN staff s ON s.id = p.agent_id WHERE p.conversation_id = ANY($1::uuid[]) AND p.left_at IS NULL",
        [uuid.UUID(c) for c in conversation_ids])


class Participation(NamedTuple):
    """An agent's part in a conversation: what it may read is what came before it left."""

    left_at: datetime | None        # None: still in it

    def saw(self, at: datetime) -> bool:
        return self.left_at is None or at <= self.left_at


async def participation(db: Database, conversation_id: str, agent_id: str) -> Participation | None:
    """None when the agent never took part in the conversation."""
    cid, aid = _uuid(conversation_id), _uuid(agent_id)
    if cid is None or aid is None:
        return None
    row = await db.fetchrow("SELECT left_at FROM participants WHERE conversation_id = $1 AND agent_id = $2", cid, aid)
    return None if row is None else Participation(row["left_at"])


# ---- offers ---------------------------------------------------------------------------------

_INSERT_OFFER = _with_bulk(
    "INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    "INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at) "
    "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::timestamptz[])")
_CLOSE_OFFER = _with_bulk(
    "UPDATE offers SET outcome = $2, reason = $3, decided_at = $4 WHERE id = $1 AND outcome IS NULL",
    "UPDATE offers o SET outcome = r.outcome, reason = r.reason, decided_at = r.at "
    "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS r(id, outcome, reason, at) "
    "WHERE o.id = r.id AND o.outcome IS NULL")


def insert_offer(offer_id: str, conversation_id: str, agent_id: str, created_at: datetime,
                 expires_at: datetime) -> Statement:
    return (_INSERT_OFFER,
            (uuid.UUID(offer_id), uuid.UUID(conversation_id), uuid.UUID(agent_id), created_at, expires_at))


def close_offer(offer_id: str, outcome: str, reason: str | None, at: datetime) -> Statement:
    return _CLOSE_OFFER, (uuid.UUID(offer_id), outcome, reason, at)


async def void_pending_offers(db: Database) -> None:
    """At start: offers of a previous run are void (PROTOCOL.md §5.10)."""
    await db.execute("UPDATE offers SET outcome = 'void', decided_at = now() WHERE outcome IS NULL")


async def expire_pending_invitations(db: Database) -> None:
    """After the Router's rebuild: invitations it was asking about are over (their inviters hear
    ``expired``)."""
    await db.execute("UPDATE invitations SET status = 'expired', decided_at = now() WHERE status = 'pending'")


async def pending_transfers(db: Database) -> list[Row]:
    """At start and after the Router's rebuild: the transfers still pending, oldest first (restored
    with the time they have left)."""
    return await db.fetch(
        "SELECT id::text, conversation_id::text, from_agent_id::text AS from_id, to_agent_id::text AS to_id, "
        "to_queue, note, expires_at, asked::text[] AS asked FROM transfers WHERE status = 'pending' "
        "ORDER BY created_at, id")


# ---- offline requests -----------------------------------------------------------------------

async def next_request_number(db: Database) -> int:
    """A fresh request number (a rolled-back use leaves a gap: numbers are unique, not dense)."""
    number: int = await db.fetchval("SELECT nextval('offline_request_number_seq')")
    return number


def format_request_number(number: int) -> str:
    return f"REQ-{number:06d}"


def insert_offline_request(request_id: str, number: int, queue: str, name: str, email: str, question: str,
                           conversation_id: str | None = None, consent_at: datetime | None = None) -> Statement:
    return ("INSERT INTO offline_requests (id, request_number, queue, name, email, question, conversation_id, "
            "consent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            (uuid.UUID(request_id), number, queue, name, email, question,
             uuid.UUID(conversation_id) if conversation_id else None, consent_at))


# ---- attachments ----------------------------------------------------------------------------

def insert_attachment(attachment_id: str, uploader_kind: str, uploader_id: str, filename: str,
                      content_type: str, size: int, sha256: str) -> Statement:
    return ("INSERT INTO attachments (id, uploader_kind, uploader_id, filename, content_type, size, sha256) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            (uuid.UUID(attachment_id), uploader_kind, uuid.UUID(uploader_id), filename, content_type, size, sha256))


async def unsent_attachments(db: Database, ids: Sequence[str], uploader_kind: str, uploader_id: str) -> list[Row]:
    """The uploader's attachments among ``ids`` that no message carries yet."""
    uuids = [u for u in (_uuid(i) for i in ids) if u is not None]
    if not uuids:
        return []
    return await db.fetch(
        "SELECT id, filename, content_type, size FROM attachments WHERE id = ANY($1::uuid[]) "
        "AND uploader_kind = $2 AND uploader_id = $3 AND message_id IS NULL", uuids, uploader_kind,
        uuid.UUID(uploader_id))


def bind_attachments(ids: Sequence[str], conversation_id: str, message_id: str) -> Statement:
    return ("UPDATE attachments SET conversation_id = $2, message_id = $3 WHERE id = ANY($1::uuid[]) "
            "AND message_id IS NULL",
            ([uuid.UUID(i) for i in ids], uuid.UUID(conversation_id), uuid.UUID(message_id)))


async def attachment(db: Database, attachment_id: str) -> Row | None:
    """An attachment with the privacy of the message that carries it (None while unsent)."""
    aid = _uuid(attachment_id)
    if aid is None:
        return None
    return await db.fetchrow(
        "SELECT a.*, m.private AS message_private, m.created_at AS message_at FROM attachments a "
        "LEFT JOIN messages m ON m.id = a.message_id WHERE a.id = $1", aid)


async def expired_unsent_attachments(db: Database, older_than: datetime) -> list[str]:
    rows = await db.fetch("DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 RETURNING id",
                          older_than)
    return [str(r["id"]) for r in rows]


# ---- canned messages ------------------------------------------------------------------------

async def canned_for_agent(db: Database, agent_id: str) -> list[Row]:
    return await db.fetch(
        "SELECT id, title, text, queue FROM canned_messages c WHERE c.queue IS NULL OR c.queue IN "
        "(SELECT queue FROM queue_members WHERE staff_id = $1) ORDER BY c.queue NULLS FIRST, c.title",
        uuid.UUID(agent_id))


# ---- a signed-in customer's conversations (edge/session.py, the account's welcome) ------------

async def account_customer(db: Database, customer_id: str) -> Row | None:
    cid = _uuid(customer_id)
    if cid is None:
        return None
    return await db.fetchrow("SELECT id, name, email, mobile, external_id, language, created_at, activated_at "
                             "FROM customers WHERE id = $1", cid)


async def account_conversations(db: Database, customer_id: str, limit: int = 200,
                                before: tuple[datetime, str] | None = None) -> list[Row]:
    """The customer's conversations, newest activity first, each with its last public message, the
    public messages of others the customer has not read (never a private one) and its rating's score. ``before``
    (activity, id) is where the previous page ended (``GET /api/customers/me/conversations``).

    ``last_activity_at`` is made of what the customer sees — the start, the last public message,
    the end or the resolution — so a private note moves nothing, not even the order of the list."""
    return await db.fetch(
        "SELECT * FROM ("
        "SELECT c.id, c.queue, c.status, q.mode, c.customer_read_seq, "
        "(SELECT r.score FROM ratings r WHERE r.conversation_id = c.id) AS rating_score, "
        "greatest(c.created_at, c.ended_at, c.resolved_at, l.created_at) AS last_activity_at, "
        "l.seq AS last_seq, l.text AS last_text, l.sender_kind AS last_sender, l.created_at AS last_at, "
        "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND NOT m.private "
        " AND m.sender_kind <> 'customer' AND m.seq > c.customer_read_seq) AS unread "
        "FROM conversations c JOIN queues q ON q.name = c.queue "
        "LEFT JOIN LATERAL (SELECT seq, text, sender_kind, created_at FROM messages m "
        " WHERE m.conversation_id = c.id AND NOT m.private ORDER BY seq DESC LIMIT 1) l ON true "
        "WHERE c.customer_id = $1) v "
        "WHERE ($3::timestamptz IS NULL OR (v.last_activity_at, v.id) < ($3, $4::uuid)) "
        "ORDER BY v.last_activity_at DESC, v.id DESC LIMIT $2",
        uuid.UUID(customer_id), limit, before[0] if before else None, _uuid(before[1]) if before else None)


# ---- conversations the business starts (edge/outreach.py) ------------------------------------

async def customer_for_outreach(db: Database, customer_id: str | None, email: str | None) -> Row | None:
    """The customer named by id, or the one with ``email`` (made when there is none, named after the
    address's local part until they say otherwise)."""
    if customer_id is not None:
        cid = _uuid(customer_id)
        if cid is None:
            return None
        return await db.fetchrow("SELECT id, name, email FROM customers WHERE id = $1", cid)
    assert email is not None
    await db.execute("INSERT INTO customers (id, name, email) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                     uuid.uuid4(), email.split("@", 1)[0], email)
    return await db.fetchrow("SELECT id, name, email FROM customers WHERE lower(email) = lower($1)", email)


def insert_outreach(conversation_id: str, queue: str, customer: Row, status: str, owner_id: str | None,
                    queue_key: int, at: datetime) -> Statement:
    """The conversation an agent (``active``, owned) or a supervisor (``pending``) starts; its
    notification mail is due at once."""
    owner = uuid.UUID(owner_id) if owner_id else None
    return ("INSERT INTO conversations (id, queue, status, customer_name, customer_email, customer_id, queue_key, "
            "owner_id, last_owner_id, created_at, accepted_at, last_activity_at, notify_due_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9, $9, $9)",
            (uuid.UUID(conversation_id), queue, status, customer["name"], customer["email"], customer["id"],
             queue_key, owner, at))


# ---- notification mails of messaging conversations (mail/notifier.py) -----------------------

async def due_notifications(db: Database, limit: int) -> list[Row]:
    return await db.fetch(
        "SELECT c.id, c.queue, c.customer_name, c.customer_email, c.customer_id, c.customer_read_seq, "
        "coalesce(c.language, cu.language) AS language, q.title AS queue_title, q.mail_templates, q.sender_name "
        "FROM conversations c "
        "JOIN queues q ON q.name = c.queue LEFT JOIN customers cu ON cu.id = c.customer_id "
        "WHERE c.notify_due_at <= now() ORDER BY c.notify_due_at LIMIT $1", limit)


async def unread_public_agent_messages(db: Database, conversation_id: str, read_seq: int) -> list[Row]:
    return await db.fetch(
        "SELECT seq, sender_name, text, private FROM messages WHERE conversation_id = $1 AND seq > $2 "
        "AND sender_kind = 'agent' AND NOT private ORDER BY seq", uuid.UUID(conversation_id), read_seq)


def insert_link_token(token_hash: bytes, conversation_id: str, customer_id: Any, expires_at: datetime) -> Statement:
    """A link token: a customer token's rights for one conversation, revoked with its customer's
    sign-out everywhere (``tokens.customer_id``)."""
    return ("INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
            "VALUES ($1, 'link', $2, $3, $4)",
            (token_hash, uuid.UUID(conversation_id), uuid.UUID(str(customer_id)), expires_at))


def clear_notification(conversation_id: str) -> Statement:
    return "UPDATE conversations SET notify_due_at = NULL WHERE id = $1", (uuid.UUID(conversation_id),)


def record_notification(conversation_id: str, customer_id: Any, token_hash: bytes, expires_at: datetime,
                        mail_id: str, recipient: str, subject: str, body_text: str, body_html: str,
                        last_seq: int, sender_name: str | None = None) -> list[Statement]:
    """The link token, the mail and what it told, in one transaction; each only while the customer
    has still not read ``last_seq`` (a read in between cancels the mail)."""
    cid = uuid.UUID(conversation_id)
    still_unread = ("EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND notify_due_at IS NOT NULL "
                    "AND customer_read_seq < $2)")
    return [
        ("INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
         f"SELECT $3, 'link', $1, $4, $5 WHERE {still_unread}", (cid, last_seq, token_hash, customer_id, expires_at)),
        ("INSERT INTO outbox (id, recipient, subject, body_text, body_html, sender_name) "
         f"SELECT $3, $4, $5, $6, $7, $8 WHERE {still_unread}",
         (cid, last_seq, uuid.UUID(mail_id), recipient, subject, body_text, body_html, sender_name)),
        ("UPDATE conversations SET notify_due_at = NULL, notified_seq = greatest(notified_seq, $2) "
         "WHERE id = $1", (cid, last_seq)),
    ]


# ---- outbox ---------------------------------------------------------------------------------

def insert_mail(mail_id: str, recipient: str, subject: str, body_text: str, body_html: str | None,
                sender_name: str | None = None) -> Statement:
    """``sender_name``: the display name of the From header (the queue's), None for FRONTDESK_MAIL_FROM's."""
    return ("INSERT INTO outbox (id, recipient, subject, body_text, body_html, sender_name) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            (uuid.UUID(mail_id), recipient, subject, body_text, body_html, sender_name))


# the Mailer's work on the ``outbox`` table (storage/outbox_rows.py, shared with the SMS outbox)
_MAILS = OutboxRows("outbox")
claim_due_mails = _MAILS.claim_due
seconds_until_next_mail = _MAILS.seconds_until_next
mark_mail = _MAILS.mark
unannounced_queued_mails = _MAILS.unannounced_queued


# ---- invitations ----------------------------------------------------------------------------

def insert_invitation(invitation_id: str, conversation_id: str, inviter_id: str, target_agent_id: str | None,
                      target_queue: str | None, at: datetime) -> Statement:
    return ("INSERT INTO invitations (id, conversation_id, inviter_id, target_agent_id, target_queue, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            (uuid.UUID(invitation_id), uuid.UUID(conversation_id), uuid.UUID(inviter_id),
             uuid.UUID(target_agent_id) if target_agent_id else None, target_queue, at))


def invitation_asked(invitation_id: str, invitee_id: str) -> Statement:
    return ("UPDATE invitations SET invitee_id = $2 WHERE id = $1", (uuid.UUID(invitation_id), uuid.UUID(invitee_id)))


def close_invitation(invitation_id: str, status: str, at: datetime) -> Statement:
    return ("UPDATE invitations SET status = $2, decided_at = $3 WHERE id = $1 AND status = 'pending'",
            (uuid.UUID(invitation_id), status, at))


def join_conversation(conversation_id: str, agent_id: str, at: datetime) -> Statement:
    return ("INSERT INTO participants (conversation_id, agent_id, role, joined_at) VALUES ($1, $2, 'invited', $3) "
            "ON CONFLICT (conversation_id, agent_id) DO UPDATE SET left_at = NULL, joined_at = $3",
            (uuid.UUID(conversation_id), uuid.UUID(agent_id), at))


def leave_conversation(conversation_id: str, agent_id: str, at: datetime) -> Statement:
    return ("UPDATE participants SET left_at = $3 WHERE conversation_id = $1 AND agent_id = $2",
            (uuid.UUID(conversation_id), uuid.UUID(agent_id), at))


# ---- transfers ------------------------------------------------------------------------------

def insert_transfer(transfer_id: str, conversation_id: str, from_id: str, to_id: str | None, to_queue: str | None,
                    note: str | None, at: datetime, expires_at: datetime) -> Statement:
    """A new transfer: asked of ``to_id``, or (None) waiting at the head of ``to_queue``, until ``expires_at``."""
    to = uuid.UUID(to_id) if to_id else None
    return ("INSERT INTO transfers (id, conversation_id, from_agent_id, to_agent_id, to_queue, note, created_at, "
            "expires_at, asked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            (uuid.UUID(transfer_id), uuid.UUID(conversation_id), uuid.UUID(from_id), to, to_queue, note, at,
             expires_at, [to] if to else []))


def transfer_asked(transfer_id: str, to_id: str, expires_at: datetime) -> Statement:
    """The transfer is asked of the next agent, whose turn ends at ``expires_at``."""
    to = uuid.UUID(to_id)
    return ("UPDATE transfers SET to_agent_id = $2, expires_at = $3, asked = array_append(asked, $2) WHERE id = $1",
            (uuid.UUID(transfer_id), to, expires_at))


def close_transfer(transfer_id: str, status: str, at: datetime) -> Statement:
    return ("UPDATE transfers SET status = $2, decided_at = $3 WHERE id = $1 AND status = 'pending'",
            (uuid.UUID(transfer_id), status, at))


def hand_over(conversation_id: str, previous_id: str, agent_id: str, at: datetime, *,
              previous_stays: bool = False) -> list[Statement]:
    """The conversation's owner is ``agent_id`` now; ``previous_id`` stays in it as invited, or has left it."""
    cid, previous, aid = uuid.UUID(conversation_id), uuid.UUID(previous_id), uuid.UUID(agent_id)
    previous_row: Statement = (
        ("UPDATE participants SET role = 'invited' WHERE conversation_id = $1 AND agent_id = $2", (cid, previous))
        if previous_stays else
        ("UPDATE participants SET left_at = $3 WHERE conversation_id = $1 AND agent_id = $2", (cid, previous, at)))
    return [("UPDATE conversations SET owner_id = $2 WHERE id = $1", (cid, aid)), previous_row,
            (_JOIN_AS_OWNER, (cid, aid, at))]


# ---- offline requests (lists) and FAQ -------------------------------------------------------

_OFFLINE_COLUMNS = ("o.id, o.request_number, o.queue, o.name, o.email, o.question, o.conversation_id, o.status, "
                    "o.handled_by, o.handled_at, o.created_at")


async def offline_requests_for_agent(db: Database, agent_id: str, status: str | None) -> list[Row]:
    """The requests of the agent's queues, oldest first."""
    return await db.fetch(
        f"SELECT {_OFFLINE_COLUMNS} FROM offline_requests o WHERE o.queue IN "
        "(SELECT queue FROM queue_members WHERE staff_id = $1) AND ($2::text IS NULL OR o.status = $2) "
        "ORDER BY o.created_at, o.request_number LIMIT 500", uuid.UUID(agent_id), status)


async def handle_offline_request(db: Database, request_id: str, agent_id: str) -> Row | None:
    """Mark handled by ``agent_id`` if it is in one of the agent's queues; None if not visible."""
    rid = _uuid(request_id)
    if rid is None:
        return None
    return await db.fetchrow(
        "UPDATE offline_requests o SET status = 'handled', handled_by = coalesce(o.handled_by, $2), "
        "handled_at = coalesce(o.handled_at, now()) WHERE o.id = $1 AND o.queue IN "
        f"(SELECT queue FROM queue_members WHERE staff_id = $2) RETURNING {_OFFLINE_COLUMNS}",
        rid, uuid.UUID(agent_id))


async def faq_search(db: Database, queue: str, prefix_query: str, limit: int) -> list[Row]:
    """FAQ entries of ``queue`` matching a prefix tsquery (``word:* | word:*``), best first."""
    return await db.fetch(
        "WITH q AS (SELECT to_tsquery(language::regconfig, $2) AS query FROM queues WHERE name = $1) "
        "SELECT f.id, f.question, f.answer, ts_rank(f.search, q.query) AS score FROM faq_entries f, q "
        "WHERE f.queue = $1 AND f.search @@ q.query ORDER BY score DESC, f.question LIMIT $3",
        queue, prefix_query, limit)


# ---- live agent status (for the dashboard) --------------------------------------------------

_UPSERT_AGENT_STATUS = _with_bulk(
    "INSERT INTO agent_status (agent_id, presence, open_conversations, pending_offers, pending_invitations, "
    "capacity, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (agent_id) DO UPDATE SET "
    "presence = $2, open_conversations = $3, pending_offers = $4, pending_invitations = $5, capacity = $6, "
    "updated_at = now()",
    "INSERT INTO agent_status (agent_id, presence, open_conversations, pending_offers, pending_invitations, "
    "capacity, updated_at) "
    "SELECT *, now() FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[]) "
    "ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence, "
    "open_conversations = excluded.open_conversations, pending_offers = excluded.pending_offers, "
    "pending_invitations = excluded.pending_invitations, capacity = excluded.capacity, updated_at = now()")


def upsert_agent_statuses(rows: Sequence[tuple[str, str, int, int, int, int]]) -> Statement:
    """Agents' rows (id, presence, open conversations, pending offers, pending invitations, capacity),
    one per agent, in ONE statement: a write of several upserts into one table would have to run
    them one by one (commit_plan.ordered)."""
    return BULK[_UPSERT_AGENT_STATUS].statement([(uuid.UUID(r[0]), *r[1:]) for r in rows])


async def reset_agent_status(db: Database) -> None:
    """At start nobody is connected yet."""
    await db.execute("UPDATE agent_status SET presence = 'offline', pending_offers = 0, pending_invitations = 0, "
                     "updated_at = now()")


async def refusals_of(db: Database, conversation_ids: Sequence[str]) -> dict[str, set[str]]:
    """Agents who rejected or let expire an offer of each conversation (never offered it again)."""
    rows = await db.fetch("SELECT conversation_id, agent_id FROM offers WHERE conversation_id = ANY($1::uuid[]) "
                          "AND outcome IN ('rejected', 'expired')", [uuid.UUID(c) for c in conversation_ids])
    refusals: dict[str, set[str]] = {}
    for r in rows:
        refusals.setdefault(str(r["conversation_id"]), set()).add(str(r["agent_id"]))
    return refusals
