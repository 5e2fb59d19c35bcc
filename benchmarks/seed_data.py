"""Fill a database with dashboard-sized history, and time every dashboard query on it.

    python -m benchmarks.seed_data URL                     # 100,000 conversations, ~2,000,000 messages
    python -m benchmarks.seed_data URL --conversations 5000
    python -m benchmarks.seed_data URL --measure           # time each query of dashboard/db.py
    python -m benchmarks.seed_data URL --measure --explain # ... and print the plans of the heavy ones

Generation applies ``schema.sql``, adds benchmark queues and agents, and loads
conversations spread over the last ``--days`` days (more on weekdays and in office hours), each
with about ``--messages`` messages (some of them private notes), its offers (some rejected or
expired first), participants, a few invitations, and offline requests. Rows go in with COPY;
foreign-key triggers are skipped while loading (``session_replication_role = replica``, so the
role must be a superuser, as the embedded pgserver's is) and the full-text index on message
text is built once after the load. The data is random but reproducible (``--seed``).

Measuring runs each query function of the dashboard several times with typical arguments and
reports the median wall time (client side, rows included) and PostgreSQL's own execution time
from ``EXPLAIN ANALYZE`` of the exact statement; the target is < 200 ms each.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from frontdesk.dashboard import db

SCHEMA = Path(__file__).resolve().parent.parent / "schema.sql"

QUEUES = [("support", "Support"), ("sales", "Sales"), ("billing", "Billing"), ("after-hours", "After hours")]
TARGET_MS = 200.0
RUNS = 5

# Conversations per hour of the day and per weekday (relative): office hours, quieter weekends.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 19, 18, 15, 16, 18, 17, 15, 12, 9, 7, 5, 4, 2, 1]
WEEKDAY_WEIGHTS = [10, 10, 9, 9, 8, 4, 3]

_WORDS = (
    "order delivery invoice payment refund password account login address shipping package parcel "
    "tracking number card credit paypal debit subscription cancel change update email confirmation "
    "problem error broken missing wrong late return exchange size colour price discount voucher code "
    "hello thanks thank please help question answer today tomorrow yesterday week month product item "
    "customer service support store online app website page button screen phone mobile laptop tablet "
    "the a to and of is in it you for that on with this my your can be have not are was do we will "
    "i me our please could would should there here when where what why how which who again still "
    "reset forgot link sent received check see look moment minute let know sure okay great perfect"
).split()


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Common words plus 3,000 rare made-up ones, with Zipf-like weights (for realistic searches)."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "pe", "qui", "dra", "sto", "ber", "lin"]
    rare = sorted({"".join(rng.choices(syllables, k=3)) + str(i) for i in range(3000)})
    words = _WORDS + rare
    weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(words))]
    return words, list(itertools.accumulate(weights))


@dataclass
class Generated:
    conversations: int = 0
    messages: int = 0
    offers: int = 0
    offline: int = 0


def _schema() -> str:
    return SCHEMA.read_text(encoding="utf-8")


def _setup(conn: psycopg.Connection[Any], agents_n: int, rng: random.Random) -> dict[str, list[uuid.UUID]]:
    conn.execute(_schema())  # type: ignore[call-overload]
    for name, title in QUEUES:
        hours = {"never": True} if name == "after-hours" else {"always": True}
        conn.execute("INSERT INTO queues (name, title, opening_hours) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                     (name, title, json.dumps(hours)))
    members: dict[str, list[uuid.UUID]] = {name: [] for name, _ in QUEUES}
    for i in range(1, agents_n + 1):
        email = f"bench-agent-{i:03d}@bench.test"
        row = conn.execute("SELECT id FROM staff WHERE email = %s", (email,)).fetchone()
        agent_id = row[0] if row else uuid.uuid4()
        if row is None:
            conn.execute("INSERT INTO staff (id, role, email, name, password_hash, capacity) "
                         "VALUES (%s, 'agent', %s, %s, '!no-login', 3)", (agent_id, email, f"Bench Agent {i:03d}"))
        for name, _ in QUEUES:
            if name == "support" or rng.random() < 0.35 or (name == "after-hours" and i % 10 == 0):
                conn.execute("INSERT INTO queue_members (queue, staff_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                             (name, agent_id))
        presence = rng.choice(["available", "available", "away", "offline"])
        conn.execute("INSERT INTO agent_status (agent_id, presence, open_conversations, capacity) "
                     "VALUES (%s, %s, %s, 3) ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence",
                     (agent_id, presence, rng.randint(0, 3) if presence != "offline" else 0))
    for row in conn.execute("SELECT queue, staff_id FROM queue_members m JOIN staff s ON s.id = m.staff_id "
                            "WHERE s.email LIKE 'bench-agent-%%'").fetchall():
        if row[1] not in members[row[0]]:
            members[row[0]].append(row[1])
    return members


def _random_created(rng: random.Random, now: datetime, days: int) -> datetime:
    while True:
        day = rng.randrange(days)
        at = (now - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        if rng.random() * 10 > WEEKDAY_WEIGHTS[at.weekday()]:
            continue
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        at += timedelta(hours=hour, seconds=rng.random() * 3600)
        if at < now - timedelta(hours=1):
            return at


def _text(rng: random.Random, words: list[str], cum: list[float]) -> str:
    return " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(4, 18)))


def generate(url: str, n: int, per: int, days: int, agents_n: int, seed: int) -> Generated:
    rng = random.Random(seed)
    words, cum = _vocabulary(rng)
    out = Generated()
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        members = _setup(conn, agents_n, rng)
        conn.execute("DROP INDEX IF EXISTS messages_text_search_idx")
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            rows = list(_conversations(rng, now, n, days, members))
            with cur.copy("COPY conversations (id, queue, status, customer_name, customer_email, customer_verified, "
                          "queue_key, owner_id, created_at, accepted_at, ended_at, ended_by, end_reason) "
                          "FROM STDIN") as copy:
                for c in rows:
                    copy.write_row(c.conversation_row())
            out.conversations = len(rows)
            print(f"  conversations: {len(rows):,} ({time.perf_counter() - started:.1f}s)", flush=True)
            with cur.copy("COPY messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, "
                          "text, private, created_at) FROM STDIN") as copy:
                for c in rows:
                    for m in c.messages(rng, per, words, cum):
                        copy.write_row(m)
                        out.messages += 1
            print(f"  messages: {out.messages:,} ({time.perf_counter() - started:.1f}s)", flush=True)
            with cur.copy("COPY offers (id, conversation_id, agent_id, created_at, expires_at, outcome, reason, "
                          "decided_at) FROM STDIN") as copy:
                for c in rows:
                    for o in c.offers:
                        copy.write_row(o)
                        out.offers += 1
            with cur.copy("COPY participants (conversation_id, agent_id, role, joined_at, left_at) FROM STDIN") as copy:
                for c in rows:
                    for p in c.participants:
                        copy.write_row(p)
            with cur.copy("COPY invitations (id, conversation_id, inviter_id, target_agent_id, invitee_id, status, "
                          "created_at, decided_at) FROM STDIN") as copy:
                for c in rows:
                    for i in c.invitations:
                        copy.write_row(i)
            with cur.copy("COPY offline_requests (id, queue, name, email, question, status, handled_at, created_at) "
                          "FROM STDIN") as copy:
                for _ in range(max(1, n // 30)):
                    created = _random_created(rng, now, days)
                    handled = rng.random() < 0.8
                    copy.write_row((uuid.uuid4(), rng.choice(QUEUES)[0], "Offline Customer", "offline@example.com",
                                    _text(rng, words, cum), "handled" if handled else "open",
                                    created + timedelta(hours=rng.uniform(1, 30)) if handled else None, created))
                    out.offline += 1
            print(f"  offers, participants, invitations, offline requests ({time.perf_counter() - started:.1f}s)",
                  flush=True)
        conn.execute("SET session_replication_role = origin")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(_schema())  # type: ignore[call-overload]  # builds the full-text index again
        print(f"  indexes ({time.perf_counter() - started:.1f}s)", flush=True)
        conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze ({time.perf_counter() - started:.1f}s)", flush=True)
    return out


class _Conv:
    """One generated conversation and its rows."""

    def __init__(self, rng: random.Random, now: datetime, created: datetime, queue: str,
                 members: list[uuid.UUID], status: str, key: int):
        self.id = uuid.uuid4()
        self.queue = queue
        self.created = created
        self.status = status
        self.key = key
        self.name = f"Customer {rng.randrange(1_000_000):06d}"
        self.email = f"c{rng.randrange(1_000_000):06d}@example.com"
        self.verified = "{name,email}" if rng.random() < 0.2 else "{}"
        self.owner: uuid.UUID | None = None
        self.accepted: datetime | None = None
        self.ended: datetime | None = None
        self.ended_by: str | None = None
        self.reason: str | None = None
        self.offers: list[tuple[Any, ...]] = []
        self.participants: list[tuple[Any, ...]] = []
        self.invitations: list[tuple[Any, ...]] = []
        at = created
        tried: set[uuid.UUID] = set()
        answered = status != "queued" and (status == "active" or rng.random() < 0.95)
        for _ in range(rng.choices([0, 1, 2], weights=[80, 15, 5])[0] if members else 0):
            agent = rng.choice(members)
            tried.add(agent)
            wait = rng.expovariate(1 / 12)
            outcome = rng.choice(["rejected", "expired"])
            decided = at + timedelta(seconds=min(wait, 30) if outcome == "rejected" else 30)
            self.offers.append((uuid.uuid4(), self.id, agent, at, at + timedelta(seconds=30), outcome,
                                "busy" if outcome == "rejected" else None, decided))
            at = decided
        if status == "queued":
            if members and rng.random() < 0.5:
                agent = rng.choice(members)
                self.offers.append((uuid.uuid4(), self.id, agent, now - timedelta(seconds=5),
                                    now + timedelta(seconds=25), None, None, None))
            return
        if answered and members:
            agent = rng.choice(members)
            self.accepted = at + timedelta(seconds=rng.expovariate(1 / 25))
            self.offers.append((uuid.uuid4(), self.id, agent, at, at + timedelta(seconds=30), "accepted", None,
                                self.accepted))
            self.owner = agent
            if status == "ended":
                self.ended = self.accepted + timedelta(seconds=rng.lognormvariate(math.log(420), 0.6))
                self.ended_by = rng.choice(["customer", "agent", "agent"])
                self.reason = "left" if self.ended_by == "customer" and rng.random() < 0.3 else "ended"
            self.participants.append((self.id, agent, "owner", self.accepted, self.ended))
            if rng.random() < 0.05 and len(members) > 1:
                other = rng.choice([m for m in members if m != agent])
                invited_at = self.accepted + timedelta(seconds=60)
                ok = rng.random() < 0.7
                self.invitations.append((uuid.uuid4(), self.id, agent, other, other,
                                         "accepted" if ok else "declined", invited_at,
                                         invited_at + timedelta(seconds=10)))
                if ok:
                    self.participants.append((self.id, other, "invited", invited_at + timedelta(seconds=10),
                                              self.ended))
        else:
            self.ended = at + timedelta(seconds=rng.uniform(30, 600))
            self.ended_by, self.reason = "customer", "left"

    def conversation_row(self) -> tuple[Any, ...]:
        return (self.id, self.queue, self.status, self.name, self.email, self.verified, self.key, self.owner,
                self.created, self.accepted, self.ended, self.ended_by, self.reason)

    def messages(self, rng: random.Random, per: int, words: list[str], cum: list[float]) -> Iterator[tuple[Any, ...]]:
        count = max(1, per + rng.randint(-5, 5)) if self.owner else rng.randint(1, 4)
        start = self.created
        end = self.ended or self.accepted or self.created
        span = (end - start).total_seconds()
        owner_name = "Bench Agent"
        for seq in range(1, count + 1):
            at = start + timedelta(seconds=span * (seq - 1) / max(1, count - 1)) if seq > 1 else start
            if seq == 1 or seq % 2 == 0 or self.owner is None:
                yield (uuid.uuid4(), self.id, seq, "customer", None, self.name, "customer",
                       _text(rng, words, cum), False, at)
            else:
                private = rng.random() < 0.1
                yield (uuid.uuid4(), self.id, seq, "agent", self.owner, owner_name, str(self.owner),
                       _text(rng, words, cum), private, at)


def _conversations(rng: random.Random, now: datetime, n: int, days: int,
                   members: dict[str, list[uuid.UUID]]) -> Iterator[_Conv]:
    open_queues = [q for q, _ in QUEUES if q != "after-hours"]
    queue_weights = [6, 3, 2]
    live_queued, live_active = min(20, n // 50), min(40, n // 25)
    for i in range(n):
        queue = rng.choices(open_queues, weights=queue_weights)[0]
        if i < live_queued:
            created, status = now - timedelta(seconds=rng.uniform(5, 900)), "queued"
        elif i < live_queued + live_active:
            created, status = now - timedelta(seconds=rng.uniform(60, 3000)), "active"
        else:
            created, status = _random_created(rng, now, days), "ended"
        yield _Conv(rng, now, created, queue, members[queue], status, int(created.timestamp() * 1000))


# --------------------------------------------------------------------------- measuring


class RecordingCursor(psycopg.Cursor[Any]):
    """Remembers each statement it runs, so the exact SQL of a dashboard function can be EXPLAINed."""

    log: ClassVar[list[tuple[Any, Any]]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> RecordingCursor:  # type: ignore[override]
        RecordingCursor.log.append((query, params))
        super().execute(query, params, **kwargs)
        return self


def _cases(conn: db.Conn) -> list[tuple[str, Callable[[db.Conn], Any]]]:
    now = datetime.now(UTC)
    agent = conn.execute("SELECT agent_id FROM participants GROUP BY agent_id ORDER BY count(*) DESC LIMIT 1"
                         ).fetchone()
    agent_id = str(agent["agent_id"]) if agent else None
    conv = conn.execute("SELECT c.id FROM conversations c JOIN invitations i ON i.conversation_id = c.id "
                        "LIMIT 1").fetchone() or conn.execute("SELECT id FROM conversations LIMIT 1").fetchone()
    cid = str(conv["id"]) if conv else str(uuid.uuid4())
    words = _word_counts(conn)
    rare_word, mid_word, common_word = (_word_near(words, n)[0] for n in (300, 15_000, 200_000))
    rare_n, mid_n, common_n = (_exact_count(conn, w) for w in (rare_word, mid_word, common_word))
    F = db.ConversationFilter

    def page(c: db.Conn, f: db.ConversationFilter, offset: int = 0) -> list[db.Row]:
        return db.conversation_page(c, f, 50, offset).rows

    month = db.Period(now - timedelta(days=30), now)
    quarter = db.Period(now - timedelta(days=90), now)
    week = now - timedelta(days=7)
    return [
        ("overview: queues", db.queue_overview),
        ("overview: waiting chats", db.waiting_chats),
        ("overview: agents", db.agent_board),
        ("overview: pending offers", db.pending_offers),
        ("log: newest 50", lambda c: page(c, F())),
        ("log: page 200 (offset 9,950)", lambda c: page(c, F(), 9950)),
        ("log: queue + status + 7 days", lambda c: page(
            c, F(queues=("sales",), statuses=("ended",), since=week, until=now))),
        ("log: one agent", lambda c: page(c, F(agent_id=agent_id))),
        ("log: status queued", lambda c: page(c, F(statuses=("queued",)))),
        (f"log: text, rare word ({rare_n:,} messages)", lambda c: page(c, F(text=rare_word))),
        (f"log: text, mid word ({mid_n:,} messages)", lambda c: page(c, F(text=mid_word))),
        (f"log: text, common word ({common_n:,} messages)", lambda c: page(c, F(text=common_word))),
        ("log: text, phrase + queue + 30 days", lambda c: page(
            c, F(text='"reset password"', queues=("support",), since=now - timedelta(days=30)))),
        ("log: text, no match", lambda c: page(c, F(text="qwertzuiop"))),
        ("transcript: messages", lambda c: db.transcript(c, cid)),
        ("transcript: events", lambda c: db.conversation_events(c, cid)),
        ("transcript: conversation", lambda c: db.conversation(c, cid)),
        ("offline: open, oldest first", lambda c: db.offline_requests(c, status="open", newest_first=False)),
        ("offline: search", lambda c: db.offline_requests(c, text="password")),
        ("reports 30d: chats by hour/weekday", lambda c: db.chats_by_hour_and_weekday(c, month, "Europe/Berlin")),
        ("reports 30d: wait histogram", lambda c: db.wait_histogram(c, month, 10, 30)),
        ("reports 30d: service level", lambda c: db.service_level(c, month, 60)),
        ("reports 30d: offer outcomes", lambda c: db.offer_outcomes(c, month)),
        ("reports 30d: handling time by agent", lambda c: db.handling_time_by_agent(c, month)),
        ("reports 30d: handling histogram", lambda c: db.handling_time_histogram(c, month, 60, 30)),
        ("reports 30d: offline per day", lambda c: db.offline_requests_per_day(c, month, "Europe/Berlin")),
        ("reports 90d: chats by hour/weekday", lambda c: db.chats_by_hour_and_weekday(c, quarter, "UTC")),
        ("reports 90d: service level", lambda c: db.service_level(c, quarter, 60)),
        ("reports 90d: offer outcomes", lambda c: db.offer_outcomes(c, quarter)),
        ("reports 90d: handling time by agent", lambda c: db.handling_time_by_agent(c, quarter)),
    ]


def _word_counts(conn: db.Conn) -> list[tuple[str, int]]:
    """Estimated message counts of the words found in a 1 % sample of the messages."""
    rows = conn.execute("WITH s AS (SELECT text FROM messages TABLESAMPLE SYSTEM (1) REPEATABLE (7)) "
                        "SELECT w.word, count(DISTINCT s.text) AS n, (SELECT count(*) FROM s) AS sampled "
                        "FROM s, regexp_split_to_table(s.text, ' ') AS w(word) GROUP BY w.word").fetchall()
    total = conn.execute("SELECT count(*) AS n FROM messages").fetchone()
    scale = (total["n"] if total else 0) / max(1, rows[0]["sampled"] if rows else 1)
    return [(r["word"], int(r["n"] * scale)) for r in rows if r["word"].isalnum()]


def _exact_count(conn: db.Conn, word: str) -> int:
    row = conn.execute("SELECT count(*) AS n FROM messages m WHERE to_tsvector('simple', m.text) @@ "
                       "websearch_to_tsquery('simple', %s)", (word,)).fetchone()
    return int(row["n"]) if row else 0


def _word_near(words: list[tuple[str, int]], target: int) -> tuple[str, int]:
    """The sampled word whose estimated message count is closest to ``target``."""
    if not words:
        return "password", 0
    return min(words, key=lambda w: abs(math.log(max(w[1], 1)) - math.log(target)))


def _plan_summary(plan: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(indexes used, tables read by a sequential scan) of a JSON plan."""
    indexes: set[str] = set()
    seq: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        if node.get("Node Type") == "Seq Scan":
            seq.add(node.get("Relation Name", "?"))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return indexes, seq


def measure(url: str, explain: bool, only: str | None) -> list[dict[str, Any]]:
    results = []
    with psycopg.connect(url, autocommit=True, row_factory=dict_row, options=db.session_options()) as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM conversations) AS c, "
                              "(SELECT count(*) FROM messages) AS m").fetchone() or {}
        print(f"database: {counts.get('c', 0):,} conversations, {counts.get('m', 0):,} messages\n")
        conn.cursor_factory = RecordingCursor
        for name, fn in _cases(conn):
            if only and only not in name:
                continue
            RecordingCursor.log.clear()
            fn(conn)  # warm up (and record the statements)
            statements = list(RecordingCursor.log)
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                result = fn(conn)
                times.append((time.perf_counter() - started) * 1000)
            rows = len(result) if isinstance(result, list) else 1
            exec_ms = 0.0
            indexes: set[str] = set()
            seq: set[str] = set()
            texts = []
            for query, params in statements:
                if db._q(query).as_string(conn).lstrip().upper().startswith("EXPLAIN"):
                    continue  # the estimate a function asks for itself
                prefix = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ")
                plan = conn.execute(sql.Composed([prefix, db._q(query)]), params).fetchone()
                top = plan["QUERY PLAN"][0] if plan else {}
                exec_ms += float(top.get("Execution Time", 0.0))
                i, s = _plan_summary(top.get("Plan", {}))
                indexes |= i
                seq |= s
                if explain:
                    text_plan = conn.execute(sql.Composed([sql.SQL("EXPLAIN (ANALYZE, COSTS OFF) "), db._q(query)]),
                                             params).fetchall()
                    texts.append("\n".join(r["QUERY PLAN"] for r in text_plan))
            results.append({"name": name, "rows": rows, "median_ms": statistics.median(times),
                            "exec_ms": exec_ms, "indexes": sorted(indexes), "seq_scans": sorted(seq),
                            "plans": texts})
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    print("| query | rows | median wall ms | EXPLAIN ANALYZE ms | indexes used | seq scans |")
    print("|---|---:|---:|---:|---|---|")
    for r in results:
        flag = "" if r["median_ms"] < TARGET_MS else " ⚠"
        print(f"| {r['name']} | {r['rows']} | {r['median_ms']:.1f}{flag} | {r['exec_ms']:.1f} | "
              f"{', '.join(r['indexes']) or '—'} | {', '.join(r['seq_scans']) or '—'} |")
    worst = max((r["median_ms"] for r in results), default=0.0)
    print(f"\nslowest: {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")
    for r in results:
        for text in r["plans"]:
            print(f"\n### {r['name']}\n```\n{text}\n```")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="PostgreSQL URL of the database to fill or measure")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=21,
                        help="messages per answered conversation (±5; unanswered ones have 1-4)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measure", action="store_true", help="time the dashboard queries (no generation)")
    parser.add_argument("--explain", action="store_true", help="with --measure: print the plans too")
    parser.add_argument("--only", help="with --measure: only queries whose name contains this")
    args = parser.parse_args(argv)
    if args.measure:
        print_table(measure(args.url, args.explain, args.only))
        return
    started = time.perf_counter()
    print(f"generating {args.conversations:,} conversations over {args.days} days ...", flush=True)
    out = generate(args.url, args.conversations, args.messages, args.days, args.agents, args.seed)
    print(f"done in {time.perf_counter() - started:.1f}s: {out.conversations:,} conversations, "
          f"{out.messages:,} messages, {out.offers:,} offers, {out.offline:,} offline requests")


if __name__ == "__main__":
    sys.exit(main())
