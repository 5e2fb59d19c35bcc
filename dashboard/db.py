"""Every SQL statement of the dashboard, as plain functions taking a psycopg connection.

Connections come from ``common.connection()`` (autocommit, rows as dicts, UTC session time
zone). Every value is a bound parameter; optional filters are left out of the statement instead
of being written as ``(%s IS NULL OR ...)``, so each query the planner sees can use its index.
The indexes these queries rely on are in ``schema.sql`` (the "dashboard" section);
``benchmarks/seed_data.py --measure`` times each function here on 100,000 conversations.

Errors: psycopg exceptions propagate (a page shows them); writes report "nothing changed" by
returning None or False, never by raising.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

Conn = psycopg.Connection[dict[str, Any]]
Row = dict[str, Any]

# The text-search configuration of the message index (messages come in any language, so no
# stemming: a word matches itself). The GIN index is on exactly this expression.
MESSAGE_TS_CONFIG = "simple"
# Settings of every dashboard session. Reports sort up to a few hundred thousand rows (90 days of
# conversations); 32 MB keeps those sorts in memory. A runaway query is cancelled, so the dashboard
# can never hold the engine's database hostage (the slowest measured query takes ~150 ms).
SESSION_SETTINGS = {"TimeZone": "UTC", "work_mem": "32MB", "statement_timeout": "15s"}


def session_options() -> str:
    """``SESSION_SETTINGS`` as libpq ``options`` (``-c name=value ...``)."""
    return " ".join(f"-c {name}={value}" for name, value in SESSION_SETTINGS.items())


REQUIRED_TABLES = ("queues", "staff", "queue_members", "conversations", "messages", "participants", "offers",
                   "invitations", "offline_requests", "faq_entries", "canned_messages", "agent_status", "customers",
                   "ratings")

# Up to this many matching messages, a text search collects every hit through the GIN index.
TEXT_HITS_CAP = 10_000

# When a queued chat started waiting: its creation, or the moment its last agent left it
# (a chat whose agent went offline is requeued at the head of its queue).
_WAITING_SINCE = ("greatest(c.created_at, (SELECT max(p.left_at) FROM participants p "
                  "WHERE p.conversation_id = c.id))")


def _uuid(value: str | uuid.UUID | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


Query = sql.SQL | sql.Composed | str


def _all(conn: Conn, query: Query, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    return conn.execute(_q(query), params).fetchall()


def _one(conn: Conn, query: Query, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
    return conn.execute(_q(query), params).fetchone()


def _q(query: Query) -> sql.SQL | sql.Composed:
    return sql.SQL(query) if isinstance(query, str) else query


# --------------------------------------------------------------------------- sign-in, directory


def missing_tables(conn: Conn) -> list[str]:
    """The tables of the schema the dashboard reads that this database lacks (the engine creates them)."""
    row = _one(conn, "SELECT array(SELECT t FROM unnest(%s::text[]) t WHERE to_regclass(t) IS NULL) AS missing",
               (list(REQUIRED_TABLES),))
    return list(row["missing"]) if row else list(REQUIRED_TABLES)


def staff_by_email(conn: Conn, email: str) -> Row | None:
    return _one(conn, "SELECT id, role, name, email, password_hash FROM staff WHERE lower(email) = lower(%s) "
                "AND disabled_at IS NULL", (email.strip(),))


def create_session(conn: Conn, token_hash: bytes, supervisor_id: str, expires_at: datetime) -> bool:
    """Store a supervisor token (the engine's kind and table); False when the account may not sign in."""
    return _one(conn, "INSERT INTO tokens (token_hash, kind, subject_id, expires_at) SELECT %s, 'supervisor', id, %s "
                "FROM staff WHERE id = %s AND role = 'supervisor' AND disabled_at IS NULL RETURNING subject_id",
                (token_hash, expires_at, _uuid(supervisor_id))) is not None


def session_supervisor(conn: Conn, token_hash: bytes) -> Row | None:
    """The enabled supervisor a live (unexpired, unrevoked) token belongs to: ``id``, ``name``, ``email``."""
    return _one(conn, "SELECT s.id::text AS id, s.name, s.email FROM tokens t JOIN staff s ON s.id = t.subject_id "
                "WHERE t.token_hash = %s AND t.kind = 'supervisor' AND t.expires_at > now() "
                "AND s.role = 'supervisor' AND s.disabled_at IS NULL", (token_hash,))


def revoke_session(conn: Conn, token_hash: bytes) -> None:
    conn.execute("DELETE FROM tokens WHERE token_hash = %s AND kind = 'supervisor'", (token_hash,))


def supervisor_enabled(conn: Conn, supervisor_id: str) -> bool:
    return _one(conn, "SELECT 1 AS ok FROM staff WHERE id = %s AND role = 'supervisor' AND disabled_at IS NULL",
                (supervisor_id,)) is not None


def queues(conn: Conn) -> list[Row]:
    return _all(conn, "SELECT name, title, language, opening_hours, closed_message FROM queues ORDER BY name")


def agents(conn: Conn) -> list[Row]:
    return _all(conn, "SELECT id, name, email FROM staff WHERE role = 'agent' ORDER BY name, email")


# --------------------------------------------------------------------------- live overview


def queue_overview(conn: Conn) -> list[Row]:
    """Per queue: waiting chats, when the longest wait began, pending offers, member agents by state."""
    return _all(conn, f"""
        SELECT q.name, q.title, q.opening_hours,
               w.waiting, w.oldest_since, o.pending_offers,
               a.available, a.away, a.offline, a.free_slots
        FROM queues q
        CROSS JOIN LATERAL (
            SELECT count(*) AS waiting, min({_WAITING_SINCE}) AS oldest_since
            FROM conversations c WHERE c.queue = q.name AND c.status = 'queued') w
        CROSS JOIN LATERAL (
            SELECT count(*) AS pending_offers FROM offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE o.outcome IS NULL AND c.queue = q.name) o
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE s.presence = 'available') AS available,
                   count(*) FILTER (WHERE s.presence = 'away') AS away,
                   count(*) FILTER (WHERE coalesce(s.presence, 'offline') = 'offline') AS offline,
                   coalesce(sum(greatest(s.capacity - s.open_conversations - s.pending_offers
                                         - s.pending_invitations, 0))
                            FILTER (WHERE s.presence = 'available'), 0) AS free_slots
            FROM queue_members m JOIN staff st ON st.id = m.staff_id AND st.role = 'agent'
            LEFT JOIN agent_status s ON s.agent_id = m.staff_id
            WHERE m.queue = q.name) a
        ORDER BY q.name""")


def waiting_chats(conn: Conn, limit: int = 100) -> list[Row]:
    """Queued chats, the one waiting longest first, with the agent it is offered to right now."""
    return _all(conn, f"""
        SELECT w.*, s.name AS offered_to, o.expires_at AS offer_expires_at,
               (SELECT m.text FROM messages m WHERE m.conversation_id = w.id AND m.seq = 1) AS question
        FROM (SELECT c.id, c.queue, c.queue_key, c.customer_name, c.customer_email, c.customer_verified,
                     c.created_at, {_WAITING_SINCE} AS waiting_since
              FROM conversations c WHERE c.status = 'queued'
              ORDER BY waiting_since, c.queue_key LIMIT %s) w
        LEFT JOIN offers o ON o.conversation_id = w.id AND o.outcome IS NULL
        LEFT JOIN staff s ON s.id = o.agent_id
        ORDER BY w.waiting_since, w.queue_key""", (limit,))


def parked_conversations(conn: Conn) -> list[Row]:
    """Open conversations whose actor kept crashing and was parked by the engine: a supervisor's case."""
    return _all(conn, """
        SELECT c.id, c.queue, c.status, c.customer_name, c.customer_email, c.parked_at, s.name AS owner_name
        FROM conversations c LEFT JOIN staff s ON s.id = c.owner_id
        WHERE c.status <> 'ended' AND c.parked_at IS NOT NULL
        ORDER BY c.parked_at""")


def agent_board(conn: Conn) -> list[Row]:
    """Every agent with what the engine last wrote to ``agent_status`` (no row yet = offline)."""
    return _all(conn, """
        SELECT st.id, st.name, st.email, coalesce(s.capacity, st.capacity) AS capacity,
               coalesce(s.presence, 'offline') AS presence, st.presence AS chosen_presence,
               coalesce(s.open_conversations, 0) AS open_conversations,
               coalesce(s.pending_offers, 0) AS pending_offers,
               coalesce(s.pending_invitations, 0) AS pending_invitations, s.updated_at,
               array(SELECT m.queue FROM queue_members m WHERE m.staff_id = st.id ORDER BY m.queue) AS queues
        FROM staff st LEFT JOIN agent_status s ON s.agent_id = st.id
        WHERE st.role = 'agent'
        ORDER BY CASE coalesce(s.presence, 'offline') WHEN 'available' THEN 0 WHEN 'away' THEN 1 ELSE 2 END,
                 st.name""")


def pending_offers(conn: Conn) -> list[Row]:
    return _all(conn, """
        SELECT o.id, o.conversation_id, o.created_at, o.expires_at, s.name AS agent_name,
               c.queue, c.customer_name
        FROM offers o JOIN staff s ON s.id = o.agent_id JOIN conversations c ON c.id = o.conversation_id
        WHERE o.outcome IS NULL ORDER BY o.created_at""")


# --------------------------------------------------------------------------- conversation log


@dataclass(frozen=True)
class ConversationFilter:
    """Filters of the conversation log; empty values mean "any". ``until`` is exclusive."""

    queues: tuple[str, ...] = ()
    agent_id: str | None = None          # the agent took part (owner or invited)
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""                       # websearch syntax: words, "a phrase", -not, or


@dataclass(frozen=True)
class LogPage:
    rows: list[Row]
    total: int | None     # matches counted up to the cap given (cap + 1: more); None: many
    has_next: bool


def _text_query() -> sql.Composable:
    return sql.SQL("to_tsvector({cfg}::regconfig, m.text) @@ websearch_to_tsquery({cfg}::regconfig, %(text)s)").format(
        cfg=sql.Literal(MESSAGE_TS_CONFIG))


def text_match_estimate(conn: Conn, text: str) -> int:
    """The planner's estimate of how many messages match ``text`` (from the index statistics)."""
    row = _one(conn, sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM messages m WHERE {match}").format(
        match=_text_query()), {"text": text})
    plan = row["QUERY PLAN"] if row else None
    return int(plan[0]["Plan"]["Plan Rows"]) if plan else 0


def text_hits(conn: Conn, text: str, cap: int = TEXT_HITS_CAP) -> list[uuid.UUID] | None:
    """Every conversation with a message matching ``text``, collected through the GIN index; or
    None for a common word (more than ``cap`` matching messages, by the planner's estimate, which
    the statistics of the expression index make close): then scanning the newest conversations
    and testing their messages finds a page of hits sooner than collecting every hit would."""
    if text_match_estimate(conn, text) > cap:
        return None
    row = _one(conn, sql.SQL("SELECT count(*) AS n, array_agg(DISTINCT h.conversation_id) AS ids FROM "
                             "(SELECT m.conversation_id FROM messages m WHERE {match} LIMIT %(limit)s) h"
                             ).format(match=_text_query()), {"text": text, "limit": 4 * cap + 1})
    if row is None or int(row["n"]) > 4 * cap:
        return None  # the estimate was far off
    return list(row["ids"] or [])


def _log_where(f: ConversationFilter, hits: list[uuid.UUID] | None) -> tuple[sql.Composable, dict[str, Any]]:
    parts: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if f.queues:
        parts.append(sql.SQL("c.queue = ANY(%(queues)s)"))
        params["queues"] = list(f.queues)
    if f.statuses:
        parts.append(sql.SQL("c.status = ANY(%(statuses)s)"))
        params["statuses"] = list(f.statuses)
    if f.agent_id:
        parts.append(sql.SQL("EXISTS (SELECT 1 FROM participants p "
                             "WHERE p.conversation_id = c.id AND p.agent_id = %(agent)s)"))
        params["agent"] = _uuid(f.agent_id)
    if f.since is not None:
        parts.append(sql.SQL("c.created_at >= %(since)s"))
        params["since"] = f.since
    if f.until is not None:
        parts.append(sql.SQL("c.created_at < %(until)s"))
        params["until"] = f.until
    if f.text.strip():
        if hits is not None:
            parts.append(sql.SQL("c.id = ANY(%(hits)s)"))
            params["hits"] = hits
        else:
            parts.append(sql.SQL("c.id IN (SELECT m.conversation_id FROM messages m WHERE {match})").format(
                match=_text_query()))
            params["text"] = f.text.strip()
    if not parts:
        return sql.SQL("TRUE"), params
    return sql.SQL(" AND ").join(parts), params


def conversation_page(conn: Conn, f: ConversationFilter, limit: int, offset: int = 0,
                      count_cap: int = 1000) -> LogPage:
    """One page of the log, newest first, and how many match: counted up to ``count_cap + 1``, or
    None for a search of a common word without other filters (thousands of messages match)."""
    text = f.text.strip()
    hits = text_hits(conn, text) if text else None
    if hits == []:
        return LogPage([], 0, False)
    where, params = _log_where(f, hits)
    rows = _all(conn, sql.SQL("""
        SELECT c.id, c.created_at, c.queue, c.status, c.customer_name, c.customer_email, c.customer_verified,
               c.accepted_at, c.ended_at, c.ended_by, c.end_reason, s.name AS owner_name,
               (SELECT max(m.seq) FROM messages m WHERE m.conversation_id = c.id) AS message_count,
               (SELECT r.score FROM ratings r WHERE r.conversation_id = c.id) AS rating_score
        FROM (SELECT c.* FROM conversations c WHERE {where}
              ORDER BY c.created_at DESC, c.id DESC LIMIT %(limit)s OFFSET %(offset)s) c
        LEFT JOIN staff s ON s.id = c.owner_id
        ORDER BY c.created_at DESC, c.id DESC""").format(where=where),
                {**params, "limit": limit + 1, "offset": offset})
    total: int | None
    if text and hits is None and f == ConversationFilter(text=f.text):
        total = None
    else:
        row = _one(conn, sql.SQL("SELECT count(*) AS n FROM (SELECT 1 FROM conversations c WHERE {where} "
                                 "LIMIT %(cap)s) x").format(where=where), {**params, "cap": count_cap + 1})
        total = int(row["n"]) if row else 0
    return LogPage(rows[:limit], total, len(rows) > limit)


def conversation(conn: Conn, conversation_id: str) -> Row | None:
    cid = _uuid(conversation_id)
    if cid is None:
        return None
    return _one(conn, """
        SELECT c.*, s.name AS owner_name, q.title AS queue_title
        FROM conversations c LEFT JOIN staff s ON s.id = c.owner_id JOIN queues q ON q.name = c.queue
        WHERE c.id = %s""", (cid,))


def transcript(conn: Conn, conversation_id: str) -> list[Row]:
    """Every message, private ones included, in seq order."""
    return _all(conn, """
        SELECT id, seq, sender_kind, sender_id, sender_name, text, private, attachments, options, option_id,
               created_at
        FROM messages WHERE conversation_id = %s ORDER BY seq""", (_uuid(conversation_id),))


def conversation_events(conn: Conn, conversation_id: str) -> list[Row]:
    """What happened around the messages, oldest first: ``at``, ``kind``, ``who``, ``detail``.

    Kinds: queued, offered, accepted, rejected, expired, revoked, void, invited,
    invitation_declined / _expired / _cancelled, transfer, transfer_accepted / _declined / _expired,
    joined, left (detail: the role, or ``transferred`` for an owner who handed the chat over),
    ended, offline_request, and what supervisors did (``supervisor_monitor`` / ``_unmonitor`` /
    ``_join`` / ``_take_over`` / ``_reassign``, ``who`` the supervisor, ``detail`` the agent it went to).
    """
    return _all(conn, """
        SELECT at, kind, who, detail, ord FROM (
            SELECT c.created_at AS at, 'queued' AS kind, NULL::text AS who, c.queue AS detail, 0 AS ord
            FROM conversations c WHERE c.id = %(id)s
          UNION ALL
            SELECT o.created_at, 'offered', s.name, NULL, 1
            FROM offers o JOIN staff s ON s.id = o.agent_id WHERE o.conversation_id = %(id)s
          UNION ALL
            SELECT o.decided_at, o.outcome, s.name, o.reason, 2
            FROM offers o JOIN staff s ON s.id = o.agent_id
            WHERE o.conversation_id = %(id)s AND o.decided_at IS NOT NULL
          UNION ALL
            SELECT i.created_at, 'invited', inviter.name,
                   coalesce(target.name, 'anyone in queue ' || i.target_queue), 3
            FROM invitations i JOIN staff inviter ON inviter.id = i.inviter_id
            LEFT JOIN staff target ON target.id = i.target_agent_id
            WHERE i.conversation_id = %(id)s
          UNION ALL
            SELECT i.decided_at, 'invitation_' || i.status, coalesce(invitee.name, target.name, i.target_queue),
                   NULL, 4
            FROM invitations i LEFT JOIN staff invitee ON invitee.id = i.invitee_id
            LEFT JOIN staff target ON target.id = i.target_agent_id
            WHERE i.conversation_id = %(id)s AND i.decided_at IS NOT NULL AND i.status <> 'accepted'
          UNION ALL
            SELECT t.created_at, 'transfer', sender.name,
                   coalesce('anyone in queue ' || t.to_queue, target.name), 3
            FROM transfers t JOIN staff sender ON sender.id = t.from_agent_id
            LEFT JOIN staff target ON target.id = t.to_agent_id
            WHERE t.conversation_id = %(id)s
          UNION ALL
            SELECT t.decided_at, 'transfer_' || t.status, coalesce(target.name, 'queue ' || t.to_queue), NULL, 4
            FROM transfers t LEFT JOIN staff target ON target.id = t.to_agent_id
            WHERE t.conversation_id = %(id)s AND t.decided_at IS NOT NULL
          UNION ALL
            SELECT p.joined_at, 'joined', s.name, p.role, 5
            FROM participants p JOIN staff s ON s.id = p.agent_id
            WHERE p.conversation_id = %(id)s AND p.role = 'invited'
          UNION ALL
            SELECT p.left_at, 'left', s.name,
                   CASE WHEN EXISTS (SELECT 1 FROM transfers t WHERE t.conversation_id = p.conversation_id
                                     AND t.from_agent_id = p.agent_id AND t.status = 'accepted'
                                     AND t.decided_at = p.left_at)
                        THEN 'transferred' ELSE p.role END, 6
            FROM participants p JOIN staff s ON s.id = p.agent_id JOIN conversations c ON c.id = p.conversation_id
            WHERE p.conversation_id = %(id)s AND p.left_at IS NOT NULL
              AND p.left_at IS DISTINCT FROM c.ended_at
          UNION ALL
            SELECT r.created_at, 'offline_request', NULL, 'REQ-' || lpad(r.request_number::text, 6, '0'), 7
            FROM offline_requests r WHERE r.conversation_id = %(id)s
          UNION ALL
            SELECT a.at, 'supervisor_' || a.action, s.name, target.name, 7
            FROM supervisor_actions a JOIN staff s ON s.id = a.supervisor_id
            LEFT JOIN staff target ON target.id = a.agent_id
            WHERE a.conversation_id = %(id)s
          UNION ALL
            SELECT c.ended_at, 'ended', c.ended_by, c.end_reason, 8
            FROM conversations c WHERE c.id = %(id)s AND c.ended_at IS NOT NULL
        ) e ORDER BY at, ord""", {"id": _uuid(conversation_id)})


# --------------------------------------------------------------------------- offline requests


def offline_requests(conn: Conn, *, queues: Sequence[str] = (), status: str | None = None, text: str = "",
                     newest_first: bool = True, limit: int = 50, offset: int = 0) -> list[Row]:
    parts: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if queues:
        parts.append(sql.SQL("r.queue = ANY(%(queues)s)"))
        params["queues"] = list(queues)
    if status:
        parts.append(sql.SQL("r.status = %(status)s"))
        params["status"] = status
    needle = text.strip()
    if needle:
        number = needle.upper().removeprefix("REQ-").lstrip("0")
        parts.append(sql.SQL("(r.name ILIKE %(like)s OR r.email ILIKE %(like)s OR r.question ILIKE %(like)s"
                             " OR r.request_number::text = %(number)s)"))
        params["like"] = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params["number"] = number or "0"
    where = sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")
    order = sql.SQL("DESC" if newest_first else "ASC")
    query = sql.SQL("""
        SELECT r.id, r.request_number, r.queue, r.name, r.email, r.question, r.conversation_id, r.status,
               r.handled_at, r.created_at, s.name AS handled_by_name
        FROM offline_requests r LEFT JOIN staff s ON s.id = r.handled_by
        WHERE {where} ORDER BY r.created_at {order}, r.request_number {order}
        LIMIT %(limit)s OFFSET %(offset)s""").format(where=where, order=order)
    return _all(conn, query, params)


def offline_request(conn: Conn, request_id: str) -> Row | None:
    return _one(conn, """
        SELECT r.*, s.name AS handled_by_name FROM offline_requests r LEFT JOIN staff s ON s.id = r.handled_by
        WHERE r.id = %s""", (_uuid(request_id),))


def mark_offline_handled(conn: Conn, request_id: str, staff_id: str) -> Row | None:
    """Mark an open request handled by ``staff_id``; None when it was handled already (or is unknown)."""
    return _one(conn, """
        UPDATE offline_requests SET status = 'handled', handled_by = %s, handled_at = now()
        WHERE id = %s AND status = 'open' RETURNING id, request_number, handled_at""",
                (_uuid(staff_id), _uuid(request_id)))


# --------------------------------------------------------------------------- canned messages


def canned_messages(conn: Conn) -> list[Row]:
    return _all(conn, "SELECT id, queue, title, text, created_at FROM canned_messages "
                      "ORDER BY queue NULLS FIRST, lower(title), id")


# --------------------------------------------------------------------------- FAQ


def faq_entries(conn: Conn, queue: str) -> list[Row]:
    return _all(conn, "SELECT id, queue, question, answer, language::text AS language, created_at "
                      "FROM faq_entries WHERE queue = %s ORDER BY lower(question), id", (queue,))


def text_search_config_exists(conn: Conn, name: str) -> bool:
    return _one(conn, "SELECT 1 AS x FROM pg_ts_config WHERE cfgname = %s", (name,)) is not None


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Period:
    """Conversations (or requests) created in [since, until), optionally of some queues only."""

    since: datetime
    until: datetime
    queues: tuple[str, ...] = ()

    def conversations(self, alias: str = "c") -> tuple[sql.Composable, dict[str, Any]]:
        return self._where(alias)

    def _where(self, alias: str) -> tuple[sql.Composable, dict[str, Any]]:
        a = sql.Identifier(alias)
        parts = [sql.SQL("{a}.created_at >= %(since)s AND {a}.created_at < %(until)s").format(a=a)]
        params: dict[str, Any] = {"since": self.since, "until": self.until}
        if self.queues:
            parts.append(sql.SQL("{a}.queue = ANY(%(queues)s)").format(a=a))
            params["queues"] = list(self.queues)
        return sql.SQL(" AND ").join(parts), params


def chats_by_hour_and_weekday(conn: Conn, period: Period, tz: str) -> list[Row]:
    """``weekday`` (1 = Monday … 7), ``hour`` (0–23, local to ``tz``), ``chats``."""
    where, params = period.conversations()
    query = sql.SQL("""
        SELECT extract(isodow FROM c.created_at AT TIME ZONE %(tz)s)::int AS weekday,
               extract(hour FROM c.created_at AT TIME ZONE %(tz)s)::int AS hour, count(*) AS chats
        FROM conversations c WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2""").format(where=where)
    return _all(conn, query, {**params, "tz": tz})


def wait_histogram(conn: Conn, period: Period, bucket_s: int, buckets: int) -> list[Row]:
    """Answered chats by time to accept: ``bucket`` k counts waits in [k·bucket_s, (k+1)·bucket_s);
    the last bucket (``buckets``) holds every longer wait."""
    where, params = period.conversations()
    query = sql.SQL("""
        SELECT least(floor(extract(epoch FROM c.accepted_at - c.created_at) / %(bucket_s)s), %(buckets)s)::int
                   AS bucket, count(*) AS chats
        FROM conversations c WHERE {where} AND c.accepted_at IS NOT NULL
        GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, {**params, "bucket_s": bucket_s, "buckets": buckets})


def service_level(conn: Conn, period: Period, within_s: int) -> list[Row]:
    """Per queue and overall (``queue`` NULL): chats that are no longer waiting, how many an agent
    accepted, how many within ``within_s`` seconds, and how many ended unanswered."""
    where, params = period.conversations()
    # The waits come from the covering index alone (index-only scan); sorting them for ROLLUP in
    # memory is cheaper than reading the table in queue order.
    query = sql.SQL("""
        WITH w AS MATERIALIZED (
            SELECT c.queue, extract(epoch FROM c.accepted_at - c.created_at) AS wait_s
            FROM conversations c WHERE {where} AND c.status <> 'queued')
        SELECT w.queue,
               count(*) AS chats,
               count(w.wait_s) AS answered,
               count(*) FILTER (WHERE w.wait_s <= %(within)s) AS answered_in_time,
               count(*) FILTER (WHERE w.wait_s IS NULL) AS unanswered,
               avg(w.wait_s) AS mean_wait_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY w.wait_s) AS p90_wait_s
        FROM w GROUP BY ROLLUP (w.queue) ORDER BY w.queue NULLS LAST""").format(where=where)
    return _all(conn, query, {**params, "within": within_s})


def offer_outcomes(conn: Conn, period: Period) -> list[Row]:
    """Offers made in the period per agent and outcome (``pending`` while undecided)."""
    parts = [sql.SQL("o.created_at >= %(since)s AND o.created_at < %(until)s")]
    params: dict[str, Any] = {"since": period.since, "until": period.until}
    if period.queues:
        parts.append(sql.SQL("o.conversation_id IN (SELECT c.id FROM conversations c "
                             "WHERE c.queue = ANY(%(queues)s) AND c.created_at < %(until)s)"))
        params["queues"] = list(period.queues)
    query = sql.SQL("""
        SELECT s.name AS agent, x.outcome, x.offers
        FROM (SELECT o.agent_id, coalesce(o.outcome, 'pending') AS outcome, count(*) AS offers
              FROM offers o WHERE {where} GROUP BY 1, 2) x
        JOIN staff s ON s.id = x.agent_id
        ORDER BY 1, 2""").format(where=sql.SQL(" AND ").join(parts))
    return _all(conn, query, params)


def handling_time_by_agent(conn: Conn, period: Period) -> list[Row]:
    """Ended, accepted chats per owner: count, mean, median and 90th percentile of accept → end.

    A chat's owner is its last owner: ``owner_id`` is cleared when a chat goes back to the queue (its
    agent left or signed out) or is set aside, so the one who handled it comes from
    ``last_owner_id`` or, failing that, from its newest owner row in ``participants``."""
    where, params = period.conversations()
    query = sql.SQL("""
        WITH x AS MATERIALIZED (
            SELECT coalesce(c.owner_id, c.last_owner_id,
                            (SELECT p.agent_id FROM participants p
                             WHERE p.conversation_id = c.id AND p.role = 'owner'
                             ORDER BY p.joined_at DESC LIMIT 1)) AS owner_id,
                   extract(epoch FROM c.ended_at - c.accepted_at) AS secs
            FROM conversations c
            WHERE {where} AND c.status = 'ended' AND c.accepted_at IS NOT NULL)
        SELECT coalesce(s.name, '(unknown)') AS agent, count(*) AS chats, avg(x.secs) AS mean_s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x.secs) AS median_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY x.secs) AS p90_s
        FROM x LEFT JOIN staff s ON s.id = x.owner_id
        GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, params)


def handling_time_histogram(conn: Conn, period: Period, bucket_s: int, buckets: int) -> list[Row]:
    where, params = period.conversations()
    query = sql.SQL("""
        SELECT least(floor(extract(epoch FROM c.ended_at - c.accepted_at) / %(bucket_s)s), %(buckets)s)::int
                   AS bucket, count(*) AS chats
        FROM conversations c WHERE {where} AND c.status = 'ended' AND c.accepted_at IS NOT NULL
        GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, {**params, "bucket_s": bucket_s, "buckets": buckets})


def offline_requests_per_day(conn: Conn, period: Period, tz: str) -> list[Row]:
    where, params = period.conversations("r")
    query = sql.SQL("""
        SELECT (r.created_at AT TIME ZONE %(tz)s)::date AS day, r.queue, count(*) AS requests,
               count(*) FILTER (WHERE r.status = 'handled') AS handled
        FROM offline_requests r WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2""").format(where=where)
    return _all(conn, query, {**params, "tz": tz})


# First response: from the customer's first message to the first public agent message after it
# (private notes and system lines do not answer the customer). Both come from the unique
# (conversation_id, seq) index, one short index scan per conversation.
_FIRST_RESPONSE = """
    SELECT c.queue, fr.sender_id AS agent_id, fr.sender_name,
           extract(epoch FROM fr.at - fc.at) AS secs
    FROM conversations c
    CROSS JOIN LATERAL (SELECT m.created_at AS at, m.seq FROM messages m
                        WHERE m.conversation_id = c.id AND m.sender_kind = 'customer'
                        ORDER BY m.seq LIMIT 1) fc
    LEFT JOIN LATERAL (SELECT m.created_at AS at, m.sender_id, m.sender_name FROM messages m
                       WHERE m.conversation_id = c.id AND m.sender_kind = 'agent' AND NOT m.private
                         AND m.seq > fc.seq
                       ORDER BY m.seq LIMIT 1) fr ON TRUE
    WHERE {where}"""


def first_response(conn: Conn, period: Period, within_s: int) -> list[Row]:
    """Per queue and overall (``queue`` NULL): conversations with a customer message, how many an
    agent answered in public, how many within ``within_s``, mean / median / p90 seconds."""
    where, params = period.conversations()
    query = sql.SQL("""
        WITH f AS MATERIALIZED (""" + _FIRST_RESPONSE + """)
        SELECT f.queue, count(*) AS chats, count(f.secs) AS answered,
               count(*) FILTER (WHERE f.secs <= %(within)s) AS answered_in_time,
               avg(f.secs) AS mean_s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY f.secs) AS median_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY f.secs) AS p90_s
        FROM f GROUP BY ROLLUP (f.queue) ORDER BY f.queue NULLS LAST""").format(where=where)
    return _all(conn, query, {**params, "within": within_s})


def first_response_by_agent(conn: Conn, period: Period) -> list[Row]:
    """Per agent who sent the first public reply: replies, mean / median / p90 seconds."""
    where, params = period.conversations()
    query = sql.SQL("""
        WITH f AS MATERIALIZED (""" + _FIRST_RESPONSE + """)
        SELECT coalesce(s.name, f.sender_name, '(unknown)') AS agent, count(*) AS replies, avg(f.secs) AS mean_s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY f.secs) AS median_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY f.secs) AS p90_s
        FROM f LEFT JOIN staff s ON s.id = f.agent_id WHERE f.secs IS NOT NULL
        GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, params)


def first_response_histogram(conn: Conn, period: Period, bucket_s: int, buckets: int) -> list[Row]:
    """Answered conversations by first-response time, bucketed as ``wait_histogram`` does."""
    where, params = period.conversations()
    query = sql.SQL("""
        WITH f AS MATERIALIZED (""" + _FIRST_RESPONSE + """)
        SELECT least(floor(f.secs / %(bucket_s)s), %(buckets)s)::int AS bucket, count(*) AS chats
        FROM f WHERE f.secs IS NOT NULL GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, {**params, "bucket_s": bucket_s, "buckets": buckets})


def owner_handling_by_agent(conn: Conn, period: Period) -> list[Row]:
    """Per agent: the stretches they owned a chat of the period, from their assignment (an accepted
    offer, or a chat handed to them) until it ended or they left it; count, mean, median, p90."""
    where, params = period.conversations()
    query = sql.SQL("""
        WITH x AS MATERIALIZED (
            SELECT p.agent_id, extract(epoch FROM p.left_at - p.joined_at) AS secs
            FROM conversations c JOIN participants p ON p.conversation_id = c.id
            WHERE {where} AND p.role = 'owner' AND p.left_at IS NOT NULL)
        SELECT coalesce(s.name, '(unknown)') AS agent, count(*) AS chats, avg(x.secs) AS mean_s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x.secs) AS median_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY x.secs) AS p90_s
        FROM x LEFT JOIN staff s ON s.id = x.agent_id
        GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, params)


def owner_handling_histogram(conn: Conn, period: Period, bucket_s: int, buckets: int) -> list[Row]:
    where, params = period.conversations()
    query = sql.SQL("""
        SELECT least(floor(extract(epoch FROM p.left_at - p.joined_at) / %(bucket_s)s), %(buckets)s)::int
                   AS bucket, count(*) AS chats
        FROM conversations c JOIN participants p ON p.conversation_id = c.id
        WHERE {where} AND p.role = 'owner' AND p.left_at IS NOT NULL
        GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, {**params, "bucket_s": bucket_s, "buckets": buckets})


def _staff_intervals(period: Period) -> tuple[sql.Composable, dict[str, Any]]:
    """CTEs ``win`` (the period, cut at now), ``ag`` (agents, members of the period's queues when
    some are chosen), ``avail`` (each agent's available time in the window, a multirange: from a
    presence row saying ``available`` to the agent's next row) and ``busy`` (time in at least one
    chat, owner or invited, any queue) with ``chat_s`` (chat-seconds, chats at once add up)."""
    params: dict[str, Any] = {"since": period.since, "until": period.until}
    members = sql.SQL("")
    if period.queues:
        members = sql.SQL(" AND s.id IN (SELECT m.staff_id FROM queue_members m WHERE m.queue = ANY(%(queues)s))")
        params["queues"] = list(period.queues)
    ctes = sql.SQL("""
        win AS (SELECT w.r, tstzmultirange(w.r) AS mr
                FROM (SELECT tstzrange(%(since)s, greatest(%(since)s, least(%(until)s, now()))) AS r) w),
        ag AS (SELECT s.id, s.name, s.capacity FROM staff s WHERE s.role = 'agent'{members}),
        pl AS (SELECT l.agent_id, l.state, l.at,
                      lead(l.at) OVER (PARTITION BY l.agent_id ORDER BY l.at, l.id) AS next_at
               FROM presence_log l JOIN ag ON ag.id = l.agent_id WHERE l.at < %(until)s),
        avail AS (SELECT pl.agent_id,
                         range_agg(tstzrange(pl.at, coalesce(pl.next_at, 'infinity'))) * (SELECT mr FROM win) AS mr
                  FROM pl WHERE pl.state = 'available' AND coalesce(pl.next_at, 'infinity') > %(since)s
                  GROUP BY 1),
        chats AS (SELECT p.agent_id, tstzrange(p.joined_at, coalesce(p.left_at, 'infinity')) * (SELECT r FROM win) AS r
                  FROM participants p JOIN ag ON ag.id = p.agent_id
                  WHERE p.joined_at < %(until)s AND coalesce(p.left_at, 'infinity') > %(since)s),
        busy AS (SELECT chats.agent_id, range_agg(chats.r) AS mr,
                        sum(extract(epoch FROM upper(chats.r) - lower(chats.r))) AS chat_s
                 FROM chats WHERE NOT isempty(chats.r) GROUP BY 1)""").format(members=members)
    return ctes, params


def _length(mr: str) -> sql.Composable:
    """Seconds covered by a multirange expression (NULL counts as empty)."""
    return sql.SQL("coalesce((SELECT sum(extract(epoch FROM upper(u) - lower(u))) FROM unnest({mr}) u), 0)").format(
        mr=sql.SQL(mr))


def occupancy_by_agent(conn: Conn, period: Period) -> list[Row]:
    """Per agent: ``available_s`` (presence available), ``chatting_s`` (in at least one chat),
    ``staffed_s`` (available or chatting: a chat goes on when its agent turns away), ``chat_s``
    (chat-seconds) and ``capacity``; agents with no staffed time are left out."""
    ctes, params = _staff_intervals(period)
    query = sql.SQL("""
        WITH {ctes}
        SELECT ag.name AS agent, ag.capacity,
               {available} AS available_s, {chatting} AS chatting_s, {staffed} AS staffed_s,
               coalesce(busy.chat_s, 0) AS chat_s
        FROM ag LEFT JOIN avail ON avail.agent_id = ag.id LEFT JOIN busy ON busy.agent_id = ag.id
        WHERE avail.mr IS NOT NULL OR busy.mr IS NOT NULL
        ORDER BY ag.name""").format(
        ctes=ctes, available=_length("avail.mr"), chatting=_length("busy.mr"),
        staffed=_length("coalesce(avail.mr, '{}'::tstzmultirange) + coalesce(busy.mr, '{}'::tstzmultirange)"))
    return _all(conn, query, params)


def staffing_by_hour_of_week(conn: Conn, period: Period, tz: str) -> list[Row]:
    """Per ``weekday`` (1 = Monday) and ``hour`` (local to ``tz``) of the period up to now:
    ``hours`` (how many such hours it held), ``chats`` (arrivals), ``handled`` and
    ``handling_s`` (mean accept → end of those chats that ended), ``agent_hours`` (available
    agent-time in those hours, in hours) and ``capacity_hours`` (the same weighted by capacity)."""
    ctes, params = _staff_intervals(period)
    where, conv_params = period.conversations()
    query = sql.SQL("""
        WITH {ctes},
        hrs AS (SELECT tstzrange(h, h + interval '1 hour') AS r,
                       extract(isodow FROM h AT TIME ZONE %(tz)s)::int AS weekday,
                       extract(hour FROM h AT TIME ZONE %(tz)s)::int AS hour
                FROM generate_series(%(since)s::timestamptz, least(%(until)s, now()) - interval '1 microsecond',
                                     interval '1 hour') h),
        slots AS (SELECT weekday, hour, count(*) AS hours FROM hrs GROUP BY 1, 2),
        staffed AS (SELECT hrs.weekday, hrs.hour,
                           sum(x.secs) / 3600 AS agent_hours, sum(x.secs * ag.capacity) / 3600 AS capacity_hours
                    FROM hrs JOIN avail ON avail.mr && hrs.r JOIN ag ON ag.id = avail.agent_id
                    CROSS JOIN LATERAL (SELECT {overlap} AS secs) x
                    GROUP BY 1, 2),
        arrivals AS (SELECT extract(isodow FROM c.created_at AT TIME ZONE %(tz)s)::int AS weekday,
                            extract(hour FROM c.created_at AT TIME ZONE %(tz)s)::int AS hour,
                            count(*) AS chats,
                            count(c.ended_at) FILTER (WHERE c.accepted_at IS NOT NULL) AS handled,
                            avg(extract(epoch FROM c.ended_at - c.accepted_at)) AS handling_s
                     FROM conversations c WHERE {where} AND c.created_at < now() GROUP BY 1, 2)
        SELECT slots.weekday, slots.hour, slots.hours, coalesce(arrivals.chats, 0) AS chats,
               coalesce(arrivals.handled, 0) AS handled, arrivals.handling_s,
               coalesce(staffed.agent_hours, 0) AS agent_hours, coalesce(staffed.capacity_hours, 0) AS capacity_hours
        FROM slots LEFT JOIN arrivals USING (weekday, hour) LEFT JOIN staffed USING (weekday, hour)
        ORDER BY 1, 2""").format(ctes=ctes, where=where, overlap=_length("avail.mr * tstzmultirange(hrs.r)"))
    return _all(conn, query, {**params, **conv_params, "tz": tz})


def agent_capacities(conn: Conn) -> list[int]:
    """The capacity of every agent (the forecast's default chats per agent is their median)."""
    return [int(r["capacity"]) for r in _all(conn, "SELECT capacity FROM staff WHERE role = 'agent' ORDER BY 1")]


# --------------------------------------------------------------------------- customers

CUSTOMER_PAGE = 50


def customer_search(conn: Conn, text: str, limit: int = CUSTOMER_PAGE) -> list[Row]:
    """Customers whose name, e-mail, mobile or external id starts with ``text`` (case-insensitive;
    an e-mail also matches anywhere), newest first; every customer when ``text`` is empty."""
    columns = ("SELECT cu.id, cu.name, cu.email, cu.mobile, cu.external_id, cu.language, cu.created_at, "
               "cu.activated_at, (SELECT count(*) FROM conversations c WHERE c.customer_id = cu.id) AS conversations "
               "FROM customers cu ")
    text = text.strip()
    if not text:
        return _all(conn, columns + "ORDER BY cu.created_at DESC LIMIT %s", (limit,))
    prefix = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return _all(conn, columns + "WHERE lower(cu.name) LIKE %(p)s OR lower(cu.email) LIKE %(p)s "
                "OR lower(cu.email) LIKE '%%' || %(p)s OR cu.mobile LIKE %(p)s OR lower(cu.external_id) LIKE %(p)s "
                "ORDER BY cu.created_at DESC LIMIT %(limit)s", {"p": prefix, "limit": limit})


def customer(conn: Conn, customer_id: str) -> Row | None:
    cid = _uuid(customer_id)
    if cid is None:
        return None
    return _one(conn, "SELECT id, name, email, mobile, external_id, language, created_at, activated_at "
                      "FROM customers WHERE id = %s", (cid,))


def customer_conversations(conn: Conn, customer_id: str, limit: int = 200) -> list[Row]:
    """A customer's conversations, newest activity first, with their owner or last owner."""
    return _all(conn, "SELECT c.id, c.queue, c.status, c.created_at, coalesce(c.last_activity_at, c.created_at) "
                      "AS last_activity_at, coalesce(s.name, l.name) AS agent_name, "
                      "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count "
                      "FROM conversations c LEFT JOIN staff s ON s.id = c.owner_id "
                      "LEFT JOIN staff l ON l.id = c.last_owner_id "
                      "WHERE c.customer_id = %s ORDER BY 5 DESC LIMIT %s", (_uuid(customer_id), limit))


# --------------------------------------------------------------------------- ratings (CSAT)

# A rating of 4 or 5 counts as satisfied: CSAT is their share of all ratings.
SATISFIED_SCORE = 4
_CSAT_COLUMNS = """count(*) AS ratings, avg(r.score)::float AS mean_score,
               count(*) FILTER (WHERE r.score >= %(satisfied)s) AS satisfied,
               count(*) FILTER (WHERE r.score = 1) AS s1, count(*) FILTER (WHERE r.score = 2) AS s2,
               count(*) FILTER (WHERE r.score = 3) AS s3, count(*) FILTER (WHERE r.score = 4) AS s4,
               count(*) FILTER (WHERE r.score = 5) AS s5,
               count(r.comment) AS comments"""


def conversation_rating(conn: Conn, conversation_id: str) -> Row | None:
    """The conversation's rating: ``score``, ``comment``, ``via``, ``created_at`` (None: not rated)."""
    return _one(conn, "SELECT score, comment, via, created_at FROM ratings WHERE conversation_id = %s",
                (_uuid(conversation_id),))


def csat_by(conn: Conn, period: Period, dimension: str) -> list[Row]:
    """Ratings given in the period per ``agent`` (the conversation's last owner when it was rated;
    ``agent`` NULL for a chat nobody took) or per ``queue``: counts per score, mean, satisfied."""
    where, params = period.conversations("r")
    if dimension == "agent":
        key, join, group = sql.SQL("s.name AS agent"), sql.SQL("LEFT JOIN staff s ON s.id = r.agent_id"), \
            sql.SQL("r.agent_id, s.name")
    elif dimension == "queue":
        key, join, group = sql.SQL("r.queue"), sql.SQL(""), sql.SQL("r.queue")
    else:
        raise ValueError(f"no CSAT by {dimension!r}")
    query = sql.SQL("""
        SELECT {key}, """ + _CSAT_COLUMNS + """
        FROM ratings r {join} WHERE {where} GROUP BY {group} ORDER BY 1 NULLS LAST""").format(
        key=key, join=join, where=where, group=group)
    return _all(conn, query, {**params, "satisfied": SATISFIED_SCORE})


def csat_over_time(conn: Conn, period: Period, tz: str, unit: str) -> list[Row]:
    """Ratings per ``day`` or ``week`` (its Monday), local to ``tz``, oldest first."""
    if unit not in ("day", "week"):
        raise ValueError(f"no CSAT per {unit!r}")
    where, params = period.conversations("r")
    query = sql.SQL("""
        SELECT date_trunc(%(unit)s, r.created_at AT TIME ZONE %(tz)s)::date AS period, """ + _CSAT_COLUMNS + """
        FROM ratings r WHERE {where} GROUP BY 1 ORDER BY 1""").format(where=where)
    return _all(conn, query, {**params, "satisfied": SATISFIED_SCORE, "tz": tz, "unit": unit})


def csat_comments(conn: Conn, period: Period, limit: int = 200) -> list[Row]:
    """The newest ratings with a comment: when, queue, agent, score, comment, conversation id."""
    where, params = period.conversations("r")
    query = sql.SQL("""
        SELECT r.created_at, r.queue, s.name AS agent, r.score, r.comment, r.conversation_id
        FROM ratings r LEFT JOIN staff s ON s.id = r.agent_id
        WHERE {where} AND r.comment IS NOT NULL ORDER BY r.created_at DESC LIMIT %(limit)s""").format(where=where)
    return _all(conn, query, {**params, "limit": limit})



# ---- transfers ----------------------------------------------------------------------------------

def transfers_by_agent(conn: Conn, period: Period) -> list[Row]:
    """Transfers asked for in the period (by the transfer's time; the queue filter by its
    conversation's queue), per agent who handed over (``from_agent``) and who was asked
    (``to_agent``, '' while a queue's transfer had nobody) or the queue (``to_queue``), with outcomes."""
    params: dict[str, Any] = {"since": period.since, "until": period.until, "queues": list(period.queues)}
    query = """
        SELECT f.name AS from_agent, coalesce(s.name, '') AS to_agent, coalesce(t.to_queue, '') AS to_queue,
               count(*) AS asked,
               count(*) FILTER (WHERE t.status = 'accepted') AS accepted,
               count(*) FILTER (WHERE t.status = 'declined') AS declined,
               count(*) FILTER (WHERE t.status = 'expired') AS expired,
               count(*) FILTER (WHERE t.status = 'pending') AS pending
        FROM transfers t JOIN conversations c ON c.id = t.conversation_id
        JOIN staff f ON f.id = t.from_agent_id LEFT JOIN staff s ON s.id = t.to_agent_id
        WHERE t.created_at >= %(since)s AND t.created_at < %(until)s
          AND (cardinality(%(queues)s::text[]) = 0 OR c.queue = ANY(%(queues)s::text[]))
        GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3"""
    return _all(conn, query, params)
