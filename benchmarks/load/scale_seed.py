"""The scale scenario's database: resting messaging conversations in bulk before the engine starts,
and the tokens the generator opens them with.

``SeedPlan`` says what conversation ``g`` (0 … conversations − 1) is — its customer, status,
number of messages, last owner — in Python and in the SQL that writes it, so the generator knows
every seeded row without reading it back. The rows are those the engine writes for a conversation
the business started (``queries.insert_outreach``: an agent's first message, owned at once) that
went back and forth and was then set aside (``queries.set_aside``): ``pending`` or ``resolved``,
the owner left and kept as the last one, the notification mail already sent (``notified_seq``,
no ``notify_due_at``, so the Notifier has nothing to do). Customers are written explicitly (their
ids are known) and named on every conversation, so the customer trigger finds nothing to fill.

``seed`` runs while no engine serves: ``frontdesk demo`` applies ``schema.sql`` and the demo data
(the ``messages`` queue), the bench agents are written as ``agents_db.py`` writes them (they are
the last owners) and joined to ``messages``, and the rows go in with ``generate_series``, the
full-text index on message text dropped during the load and built again by applying
``schema.sql`` once more, then ``VACUUM ANALYZE``, as a database in service has its statistics,
and a ``CHECKPOINT``, so that no checkpoint of the load runs under the measurements.
Link tokens (one conversation each) and account tokens (one customer each) are stored as the
engine stores tokens: the SHA-256 of 256 random bits (``core/auth.py``'s ``new_token``).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..latency import BENCH_PASSWORD, HTTP_TIMEOUT_S, add_bench_agents, engine_command

QUEUE = "messages"                  # the demo's messaging queue (PROTOCOL.md §7)
SCHEMA = Path(__file__).resolve().parent.parent.parent / "schema.sql"
TEXT_INDEX = "messages_text_search_idx"
TOKEN_TTL_S = 30 * 24 * 3600        # a link token's life (PROTOCOL.md §7)
SEED_TIMEOUT_S = 3600.0
DEMO_TIMEOUT_S = 120.0

# Conversation g's and customer i's ids: fixed patterns, so the generator knows them without a query.
_CONVERSATION_PREFIX = "00000000-0000-4000-8000-"
_CUSTOMER_PREFIX = "00000000-0000-4000-9000-"


def conversation_id(g: int) -> str:
    return f"{_CONVERSATION_PREFIX}{g:012x}"


def customer_id(i: int) -> str:
    return f"{_CUSTOMER_PREFIX}{i:012x}"


def customer_email(i: int) -> str:
    return f"scale-customer{i}@example.com"


@dataclass(frozen=True)
class SeedPlan:
    """What each seeded conversation is. Every formula here has its twin in ``statements`` below."""

    conversations: int
    customers: int

    def customer_of(self, g: int) -> int:
        return g % self.customers

    @staticmethod
    def status_of(g: int) -> str:
        return "resolved" if g % 3 == 0 else "pending"

    def conversations_of(self, customer: int) -> int:
        """How many conversations customer ``customer`` has (``g % customers == customer``)."""
        whole, rest = divmod(self.conversations, self.customers)
        return whole + (1 if customer < rest else 0)

    @staticmethod
    def messages_of(g: int) -> int:
        """Seq 1 is the agent's (the business wrote first), then customer and agent take turns."""
        return 3 + g % 4


@dataclass
class Picks:
    """The seeded conversations and customers each phase uses: disjoint, so no phase finds a
    conversation another phase has woken or reopened."""

    open: list[int]                 # opened with a link token and their history (any resting one)
    reopen: list[int]               # written in by their customer (pending ones)
    wake: list[int]                 # woken together and left to rest again (any resting one)
    accounts: list[int]             # customers who say hello with an account token


def pick(plan: SeedPlan, rng: random.Random, n_open: int, n_reopen: int, n_wake: int, n_accounts: int) -> Picks:
    """Disjoint random samples; ``reopen`` only from pending conversations. Raises ``ValueError``
    when the plan holds too few."""
    pending = [g for g in range(plan.conversations) if plan.status_of(g) == "pending"]
    reopen = rng.sample(pending, n_reopen)
    taken = set(reopen)
    rest = [g for g in range(plan.conversations) if g not in taken]
    others = rng.sample(rest, n_open + n_wake)
    accounts = rng.sample(range(plan.customers), n_accounts)
    return Picks(open=others[:n_open], reopen=reopen, wake=others[n_open:], accounts=accounts)


@dataclass
class Seeded:
    """What the generator needs of the seed: tokens by conversation and by customer, the bench
    agents, and how long each step took."""

    plan: SeedPlan
    picks: Picks
    database_url: str
    link_tokens: dict[int, str] = field(default_factory=dict)       # g -> link token
    account_tokens: dict[int, str] = field(default_factory=dict)    # customer i -> account token
    agent_emails: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def statements(plan: SeedPlan, owners: int) -> dict[str, str]:
    """The SQL that writes the plan, table by table, over ``generate_series(0, conversations - 1) g``.

    Conversation g's last owner is row ``g % owners`` of the temporary table ``seed_owner (k, id,
    name)``. ``t0`` is when the business wrote first: one a minute back from an hour ago; each
    message a minute after the one before; set aside a minute after the last. The counts are
    integers of the plan, written into the text (each statement then needs no parameter)."""
    n_conv, n_cust = int(plan.conversations), int(plan.customers)
    g_id = f"('{_CONVERSATION_PREFIX}' || lpad(to_hex(g), 12, '0'))::uuid"
    cust = f"(g % {n_cust})"
    cust_id = f"('{_CUSTOMER_PREFIX}' || lpad(to_hex(g % {n_cust}), 12, '0'))::uuid"
    n = "(3 + g % 4)"
    t0 = "(now() - make_interval(secs => 3600 + g * 60))"
    aside = f"({t0} + make_interval(mins => {n} + 1))"
    series = f"generate_series(0, {n_conv - 1}) g JOIN seed_owner o ON o.k = g % {int(owners)}"
    return {
        "customers": (
            "INSERT INTO customers (id, name, email, language, created_at) "
            f"SELECT ('{_CUSTOMER_PREFIX}' || lpad(to_hex(i), 12, '0'))::uuid, 'Scale Customer ' || i, "
            f"'scale-customer' || i || '@example.com', 'en', now() - interval '400 days' "
            f"FROM generate_series(0, {n_cust - 1}) i"),
        "conversations": (
            "INSERT INTO conversations (id, queue, status, customer_name, customer_email, customer_id, "
            "queue_key, owner_id, last_owner_id, created_at, accepted_at, last_activity_at, resolved_at, "
            "customer_read_seq, notified_seq) "
            f"SELECT {g_id}, '{QUEUE}', CASE WHEN g % 3 = 0 THEN 'resolved' ELSE 'pending' END, "
            f"'Scale Customer ' || {cust}, 'scale-customer' || {cust} || '@example.com', {cust_id}, "
            f"(extract(epoch FROM {t0}) * 1000000)::bigint, NULL, o.id, {t0}, {t0}, {aside}, "
            f"CASE WHEN g % 3 = 0 THEN {aside} END, "
            f"CASE WHEN g % 5 = 0 THEN {n} - 1 ELSE {n} END, "     # one in five has not read the last message
            f"{n} - 1 + {n} % 2 "                                   # the last agent message was mailed
            f"FROM {series}"),
        "participants": (
            "INSERT INTO participants (conversation_id, agent_id, role, joined_at, left_at, last_read_seq) "
            f"SELECT {g_id}, o.id, 'owner', {t0}, {aside}, {n} FROM {series}"),
        "messages": (
            "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, "
            "client_id, text, private, attachments, options, option_id, created_at) "
            f"SELECT gen_random_uuid(), {g_id}, s, CASE WHEN s % 2 = 1 THEN 'agent' ELSE 'customer' END, "
            "CASE WHEN s % 2 = 1 THEN o.id END, "
            f"CASE WHEN s % 2 = 1 THEN o.name ELSE 'Scale Customer ' || {cust} END, "
            "CASE WHEN s % 2 = 1 THEN o.id::text ELSE 'customer' END, "
            "CASE WHEN s = 1 THEN NULL ELSE 'seed-' || s END, "     # the business's first message has none
            "CASE WHEN s % 2 = 1 THEN 'Thank you for your message about order ' || g || '. We have checked "
            "it and will get back to you if anything is missing.' "
            "ELSE 'Hello, a question about my order ' || g || ': when will it arrive, and can I change the "
            "delivery address?' END, "
            f"false, '[]'::jsonb, NULL, NULL, {t0} + make_interval(mins => s) "
            f"FROM {series}, generate_series(1, {n}) s"),
    }


def _tokens(keys: list[int]) -> tuple[dict[int, str], list[bytes]]:
    tokens = {k: secrets.token_urlsafe(32) for k in keys}
    return tokens, [hashlib.sha256(tokens[k].encode()).digest() for k in keys]


async def _load(database_url: str, plan: SeedPlan, picks: Picks, agents: int, seeded: Seeded,
                log: Callable[[str], None]) -> None:
    import asyncpg

    from frontdesk.core.auth import hash_password

    started = time.perf_counter()
    seeded.agent_emails = await add_bench_agents(database_url, agents, hash_password(BENCH_PASSWORD))
    conn = await asyncpg.connect(database_url, timeout=HTTP_TIMEOUT_S)
    try:
        await conn.execute("CREATE TEMPORARY TABLE seed_owner (k int, id uuid, name text)")
        owners = await conn.fetch(
            "INSERT INTO seed_owner SELECT (row_number() OVER (ORDER BY lower(email)) - 1)::int, id, name "
            "FROM staff WHERE lower(email) = ANY($1::text[]) RETURNING id", [e.lower() for e in seeded.agent_emails])
        await conn.execute("INSERT INTO queue_members (queue, staff_id) SELECT $1, id FROM seed_owner "
                           "ON CONFLICT DO NOTHING", QUEUE)
        seeded.timings_s["agents"] = round(time.perf_counter() - started, 2)
        await conn.execute(f"DROP INDEX IF EXISTS {TEXT_INDEX}")
        async with conn.transaction():      # one now() for every row: each message after its conversation's start
            for table, sql in statements(plan, len(owners)).items():
                t = time.perf_counter()
                status = await conn.execute(sql)
                seeded.rows[table] = int(status.rsplit(" ", 1)[-1])
                seeded.timings_s[table] = round(time.perf_counter() - t, 2)
                log(f"seed: {seeded.rows[table]:,} {table} ({seeded.timings_s[table]:.1f} s)")
        t = time.perf_counter()
        await conn.execute(SCHEMA.read_text(encoding="utf-8"))       # builds the text index again
        seeded.timings_s["text_index"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE customers, conversations, participants, messages")
        seeded.timings_s["vacuum_analyze"] = round(time.perf_counter() - t, 2)
        expires = datetime.now(UTC) + timedelta(seconds=TOKEN_TTL_S)
        conversations = picks.open + picks.reopen + picks.wake
        seeded.link_tokens, hashes = _tokens(conversations)
        await conn.execute(
            "INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
            "SELECT h, 'link', c, u, $4 FROM unnest($1::bytea[], $2::uuid[], $3::uuid[]) AS r(h, c, u)",
            hashes, [conversation_id(g) for g in conversations],
            [customer_id(plan.customer_of(g)) for g in conversations], expires)
        seeded.account_tokens, hashes = _tokens(picks.accounts)
        await conn.execute(
            "INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
            "SELECT h, 'account', u, u, $3 FROM unnest($1::bytea[], $2::uuid[]) AS r(h, u)",
            hashes, [customer_id(i) for i in picks.accounts], expires)
        seeded.rows["tokens"] = len(seeded.link_tokens) + len(seeded.account_tokens)
        t = time.perf_counter()
        # the load's dirty pages written out now: otherwise the checkpoint they call for runs
        # under the first phases, and its writes slow every commit and read of theirs
        await conn.execute("CHECKPOINT")
        seeded.timings_s["checkpoint"] = round(time.perf_counter() - t, 2)
    finally:
        await conn.close(timeout=HTTP_TIMEOUT_S)


def load_demo(database_url: str) -> None:
    """``frontdesk demo``: the schema and the demo data, by the engine's own command (nothing of it
    is imported here)."""
    with tempfile.TemporaryDirectory(prefix="fdseed-") as data_dir:
        subprocess.run([*engine_command(), "demo", "--database-url", database_url, "--data-dir", data_dir],
                       check=True, capture_output=True, timeout=DEMO_TIMEOUT_S)


def seed(database_url: str, plan: SeedPlan, picks: Picks, agents: int,
         log: Callable[[str], None] = print) -> Seeded:
    """Write the plan's conversations, the bench agents and the picks' tokens; returns what the
    generator needs of them."""
    seeded = Seeded(plan, picks, database_url)
    t = time.perf_counter()
    load_demo(database_url)
    seeded.timings_s["schema_and_demo"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    asyncio.run(_load(database_url, plan, picks, agents, seeded, log))
    seeded.timings_s["total"] = round(time.perf_counter() - t + seeded.timings_s["schema_and_demo"], 2)
    return seeded
