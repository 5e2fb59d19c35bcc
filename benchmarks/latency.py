"""End-to-end latency of the engine, measured from the client side, next to a bare-relay baseline.

    .venv/bin/python -m benchmarks.latency [--conversations 100] [--messages 20] [--rate-per-conv 1.0]
                                           [--database-url URL] [--quick]

What it does, in order (every wait is bounded; the default run takes well under a minute):

1. Starts PostgreSQL (the embedded ``pgserver`` in a temporary directory, unless ``--database-url``)
   and the engine as a subprocess (``frontdesk serve --demo`` with ``FRONTDESK_RATE_LIMIT=0``) on a
   free loopback port, and waits for ``/healthz``. With 2+ CPUs the engine (and later the relay)
   is pinned to the first CPU and this load generator to the second; PostgreSQL is not pinned.
2. Adds ``N/5+1`` agents of capacity 5 to the ``support`` queue straight in the database
   (asyncpg in a plain ``asyncio.run``; the benchmark is not the engine). They sign in, connect
   their websockets and set themselves ``available``.
3. Phase 1, offer latency: opens N chats (open loop, ``--chat-rate`` per second) and measures from
   just before ``POST /api/chats`` to the ``offer`` event for that conversation on an agent's
   socket. Agents accept every offer; customers then connect (``hello`` with their token).
4. Phase 2, delivery latency: every customer sends ``--messages`` messages at ``--rate-per-conv``
   per second (open loop, starts staggered across one interval). Latency is measured from the
   SCHEDULED send time (so a generator or engine that falls behind cannot hide it) to the agent's
   ``message`` event (matched by a unique token in the text) and to the customer's ``ack``.
5. Stops the engine, then drives the bare relay of ``benchmarks/baseline_relay.py`` (its own
   process, same CPU as the engine had) with N socket pairs, the same message count and rate.
6. Prints the table (``rich`` when importable) and writes it as JSON to
   ``benchmarks/results/latency-<timestamp>.json``. Exit status 0 only when every expected
   sample arrived and nothing failed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection, connect_websocket_url

from .baseline_relay import relay_subprocess

RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUEUE = "support"
BENCH_PASSWORD = "bench-password"
AGENT_CAPACITY = 5
AGENTS_PER_CAPACITY = 5          # N/5 + 1 agents of capacity 5: room for every conversation

ENGINE_START_TIMEOUT_S = 60.0    # embedded PostgreSQL initdb + schema + demo data + bind
ENGINE_STOP_TIMEOUT_S = 10.0     # SIGTERM, then SIGKILL
HTTP_TIMEOUT_S = 10.0
WS_CONNECT_TIMEOUT_S = 10.0
WS_CLOSE_TIMEOUT_S = 2.0
SETUP_TIMEOUT_S = 30.0           # agents signed in and available / customers connected
OFFER_TIMEOUT_S = 10.0           # after the last chat was created
DELIVERY_TIMEOUT_S = 10.0        # after the last scheduled send
END_TIMEOUT_S = 5.0
WS_QUEUE_SIZE = 10_000
CONNECT_CONCURRENCY = 16
LOGIN_CONCURRENCY = 4            # argon2 verification costs the engine real CPU

TOKEN_RE = re.compile(r"\bbench:([0-9a-zA-Z_-]+)")


# ---- statistics ----------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile: an actual sample, exact, no interpolation."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Series:
    name: str
    expected: int = 0
    samples_ms: list[float] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return max(0, self.expected - len(self.samples_ms))

    def summary(self) -> dict[str, Any]:
        s = sorted(self.samples_ms)

        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 3)

        return {"count": len(s), "expected": self.expected, "missing": self.missing,
                "p50_ms": r(percentile(s, 50)), "p90_ms": r(percentile(s, 90)),
                "p99_ms": r(percentile(s, 99)), "max_ms": r(s[-1] if s else math.nan),
                "mean_ms": r(sum(s) / len(s) if s else math.nan)}


class Progress:
    """Wakes waiters whenever something they may be counting arrived."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def changed(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait_for(self, done: Callable[[], bool], deadline: float) -> bool:
        while not done():
            if trio.current_time() >= deadline:
                return False
            with trio.move_on_at(deadline):
                await self._event.wait()
        return True


@dataclass
class BenchConfig:
    conversations: int
    messages: int
    rate_per_conv: float
    chat_rate: float
    database_url: str | None

    @property
    def agents(self) -> int:
        return self.conversations // AGENTS_PER_CAPACITY + 1


# ---- processes -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def engine_command() -> list[str]:
    script = Path(sys.executable).parent / "frontdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "frontdesk.engine"]


class EngineProcess:
    """``frontdesk serve`` as a subprocess, optionally pinned to one CPU; output goes to a log file."""

    def __init__(self, port: int, data_dir: Path, database_url: str | None, cpu: int | None, log_path: Path):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.data_dir = data_dir
        self.database_url = database_url
        self.cpu = cpu
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [*engine_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--demo",
               "--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        env = {**os.environ, "FRONTDESK_RATE_LIMIT": "0"}
        preexec = functools.partial(os.sched_setaffinity, 0, {self.cpu}) if self.cpu is not None else None
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         preexec_fn=preexec, start_new_session=True)

    def wait_healthy(self, timeout_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(base_url=self.base, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"engine exited with status {self.proc.returncode}\n{self.log_tail()}")
                try:
                    r = client.get("/healthz")
                    if r.status_code == 200 and r.json().get("database") == "ok":
                        return
                    last = f"{r.status_code} {r.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.1)
        raise RuntimeError(f"engine not healthy within {timeout_s:.0f} s ({last})\n{self.log_tail()}")

    def stop(self, timeout_s: float = ENGINE_STOP_TIMEOUT_S) -> str:
        """SIGTERM, SIGKILL after ``timeout_s``; returns how it ended."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return "not running"
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=timeout_s)
            return f"stopped by SIGTERM (exit {code})"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)
            return f"did not stop within {timeout_s:.0f} s of SIGTERM: killed"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("  engine| " + line for line in text[-lines:])


WAL_WARMUP_ROWS = 1_200_000     # ~300 MB of WAL: EmbeddedPostgres.warm_wal


class EmbeddedPostgres:
    """A throw-away ``pgserver`` PostgreSQL of our own (started before the generator pins itself)."""

    def __init__(self, directory: Path):
        import pgserver

        directory.mkdir(parents=True, exist_ok=True)
        self._server: Any = pgserver.get_server(directory, cleanup_mode="delete")
        self.url = str(self._server.get_uri())

    def warm_wal(self, rows: int = WAL_WARMUP_ROWS) -> None:
        """Leave WAL segments to recycle, as a database in service has.

        A fresh cluster creates each new 16-MB WAL segment by writing it full of zeros first, and
        the commit that needs it waits (~45 ms here, once every few seconds at 1,000 msgs/s);
        a cluster in service renames an old segment instead. Writing ~300 MB of WAL and two
        checkpoints leaves enough old segments for a run.
        """
        self._server.psql(f"CREATE TABLE fd_wal_warmup AS SELECT g, repeat('x', 200) AS t "
                          f"FROM generate_series(1, {rows}) g; DROP TABLE fd_wal_warmup; CHECKPOINT; CHECKPOINT;")

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


async def add_bench_agents(database_url: str, count: int, password_hash: str) -> list[str]:
    """Upsert ``count`` agents of capacity 5 in the support queue; returns their e-mails. asyncio."""
    import asyncpg

    emails = [f"bench-agent{k}@bench.test" for k in range(count)]
    conn = await asyncpg.connect(database_url, timeout=HTTP_TIMEOUT_S)
    try:
        async with conn.transaction():
            for k, email in enumerate(emails):
                staff_id = await conn.fetchval(
                    "INSERT INTO staff (id, role, email, name, password_hash, capacity, presence) "
                    "VALUES ($1, 'agent', $2, $3, $4, $5, 'available') "
                    "ON CONFLICT ((lower(email))) DO UPDATE SET role = 'agent', password_hash = EXCLUDED.password_hash,"
                    " capacity = EXCLUDED.capacity, presence = 'available' RETURNING id",
                    uuid.uuid4(), email, f"Bench Agent {k}", password_hash, AGENT_CAPACITY)
                await conn.execute("INSERT INTO queue_members (queue, staff_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                   QUEUE, staff_id)
    finally:
        await conn.close(timeout=HTTP_TIMEOUT_S)
    return emails


# ---- websocket helpers ---------------------------------------------------------------------

async def ws_connect(nursery: trio.Nursery, url: str) -> WebSocketConnection:
    with trio.fail_after(WS_CONNECT_TIMEOUT_S):
        return await connect_websocket_url(nursery, url, message_queue_size=WS_QUEUE_SIZE)


async def ws_send(ws: WebSocketConnection, frame: dict[str, Any]) -> None:
    await ws.send_message(orjson.dumps(frame).decode())


async def ws_expect(ws: WebSocketConnection, type_: str, timeout_s: float) -> dict[str, Any]:
    """Read frames until one of ``type_`` (others before it are dropped: used only during hello)."""
    with trio.fail_after(timeout_s):
        while True:
            frame = orjson.loads(await ws.get_message())
            if frame.get("type") == type_:
                return dict(frame)
            if frame.get("type") == "error":
                raise RuntimeError(f"error instead of {type_}: {frame}")


async def ws_close(ws: WebSocketConnection) -> None:
    with trio.move_on_after(WS_CLOSE_TIMEOUT_S):
        await ws.aclose()


async def paced_sender(index: int, total: int, start: float, messages: int, rate: float,
                       send: Callable[[str], Awaitable[None]], scheduled: dict[str, float],
                       sent: dict[str, float], lag_ms: list[float], errors: Counter[str], label: str) -> None:
    """Open loop: message k of sender ``index`` is due at start + index/total/rate + k/rate."""
    interval = 1.0 / rate
    first = start + interval * index / max(1, total)
    for k in range(messages):
        due = first + k * interval
        await trio.sleep_until(due)
        token = f"{index}-{k}-{uuid.uuid4().hex[:12]}"
        scheduled[token] = due
        sent[token] = now = trio.current_time()
        lag_ms.append((now - due) * 1000)
        try:
            await send(token)
        except ConnectionClosed:
            errors[f"{label}: socket closed while sending"] += messages - k
            scheduled.pop(token, None)
            sent.pop(token, None)
            return


def _latencies(name: str, scheduled: dict[str, float], arrived: dict[str, float], expected: int) -> Series:
    series = Series(name, expected=expected)
    series.samples_ms = [(arrived[t] - due) * 1000 for t, due in scheduled.items() if t in arrived]
    return series


# ---- the engine phases ---------------------------------------------------------------------

@dataclass
class Agent:
    email: str
    token: str = ""
    ws: WebSocketConnection | None = None
    presence: str = ""


@dataclass
class Customer:
    index: int
    conversation_id: str
    token: str
    ws: WebSocketConnection | None = None


@dataclass
class EngineResult:
    offer: Series
    delivery: Series
    ack: Series
    chat_create: Series
    delivery_from_send: Series
    send_lag_ms: list[float]
    errors: Counter[str]
    phase_s: dict[str, float]


class EngineBench:
    def __init__(self, base: str, cfg: BenchConfig, agent_emails: list[str]):
        self.base = base
        self.ws_url = base.replace("http", "ws", 1) + "/ws"
        self.cfg = cfg
        self.agents = [Agent(e) for e in agent_emails]
        self.customers: list[Customer] = []
        self.progress = Progress()
        self.errors: Counter[str] = Counter()
        self.closing = False
        self.created_at: dict[str, float] = {}      # conversation id -> just before its POST
        self.created_done: dict[str, float] = {}    # conversation id -> POST answered
        self.offer_at: dict[str, float] = {}        # conversation id -> offer seen by an agent
        self.accepted_at: dict[str, float] = {}     # conversation id -> `conversation` event
        self.ended: set[str] = set()
        self.scheduled: dict[str, float] = {}       # token -> scheduled send time
        self.sent: dict[str, float] = {}            # token -> when the generator actually sent it
        self.delivered: dict[str, float] = {}       # token -> agent saw the message
        self.acked: dict[str, float] = {}           # token (= client_id) -> customer got the ack
        self.send_lag_ms: list[float] = []
        self.phase_s: dict[str, float] = {}         # wall time of each step of the run

    # -- readers --

    async def agent_reader(self, agent: Agent) -> None:
        assert agent.ws is not None
        try:
            while True:
                raw = await agent.ws.get_message()
                now = trio.current_time()
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    if (frame.get("sender") or {}).get("kind") == "customer":
                        m = TOKEN_RE.search(frame.get("text") or "")
                        if m:
                            self.delivered.setdefault(m.group(1), now)
                elif kind == "offer":
                    self.offer_at.setdefault(frame["conversation_id"], now)
                    await ws_send(agent.ws, {"type": "accept", "offer_id": frame["offer_id"]})
                elif kind == "conversation":
                    self.accepted_at.setdefault(frame["conversation_id"], now)
                elif kind == "presence":
                    agent.presence = str(frame.get("state"))
                elif kind == "ended":
                    self.ended.add(str(frame.get("conversation_id")))
                    if not self.closing:
                        self.errors[f"agent got ended ({frame.get('reason')})"] += 1
                elif kind == "error":
                    self.errors[f"agent error event: {frame.get('code')}"] += 1
                elif kind in ("offer_revoked", "requeued"):
                    self.errors[f"agent got {kind}"] += 1
                self.progress.changed()
        except ConnectionClosed:
            if not self.closing:
                self.errors["agent socket closed by the engine"] += 1

    async def customer_reader(self, customer: Customer) -> None:
        assert customer.ws is not None
        try:
            while True:
                raw = await customer.ws.get_message()
                now = trio.current_time()
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    self.acked.setdefault(str(frame.get("client_id")), now)
                    self.progress.changed()
                elif kind == "error":
                    self.errors[f"customer error event: {frame.get('code')}"] += 1
                elif kind == "ended":
                    self.ended.add(customer.conversation_id)
                    if not self.closing:
                        self.errors[f"customer got ended ({frame.get('reason')})"] += 1
                    self.progress.changed()
                elif kind in ("requeued", "fallback"):
                    self.errors[f"customer got {kind}"] += 1
        except ConnectionClosed:
            if not self.closing:
                self.errors["customer socket closed by the engine"] += 1

    # -- setup --

    async def sign_in_agents(self, nursery: trio.Nursery, http: httpx.AsyncClient) -> None:
        limiter = trio.CapacityLimiter(LOGIN_CONCURRENCY)

        async def one(agent: Agent) -> None:
            async with limiter:
                r = await http.post("/api/agents/login", json={"email": agent.email, "password": BENCH_PASSWORD})
                if r.status_code != 200:
                    raise RuntimeError(f"login of {agent.email}: {r.status_code} {r.text[:200]}")
                agent.token = r.json()["token"]
                agent.ws = await ws_connect(nursery, self.ws_url)
                await ws_send(agent.ws, {"type": "hello", "token": agent.token})
                await ws_expect(agent.ws, "welcome", WS_CONNECT_TIMEOUT_S)
            nursery.start_soon(self.agent_reader, agent)
            await ws_send(agent.ws, {"type": "presence", "state": "available"})

        with trio.fail_after(SETUP_TIMEOUT_S):
            async with trio.open_nursery() as n:
                for agent in self.agents:
                    n.start_soon(one, agent)
        ok = await self.progress.wait_for(lambda: all(a.presence == "available" for a in self.agents),
                                          trio.current_time() + SETUP_TIMEOUT_S)
        if not ok:
            raise RuntimeError("agents did not become available in time")

    async def create_chat(self, http: httpx.AsyncClient, index: int) -> None:
        body = {"queue": QUEUE, "name": f"Bench Customer {index}", "email": f"customer{index}@example.com",
                "question": f"Benchmark question {index}"}
        t0 = trio.current_time()
        try:
            r = await http.post("/api/chats", json=body)
        except httpx.HTTPError as exc:
            self.errors[f"POST /api/chats: {type(exc).__name__}"] += 1
            return
        done = trio.current_time()
        if r.status_code != 201:
            try:
                detail = str(r.json().get("reason") or r.json().get("error", {}).get("code") or "")
            except ValueError:
                detail = ""
            self.errors[f"POST /api/chats: {r.status_code} {detail}".strip()] += 1
            return
        data = r.json()
        cid = str(data["conversation_id"])
        self.created_at[cid] = t0
        self.created_done[cid] = done
        self.customers.append(Customer(index, cid, str(data["customer_token"])))
        self.progress.changed()

    async def connect_customers(self, nursery: trio.Nursery) -> None:
        limiter = trio.CapacityLimiter(CONNECT_CONCURRENCY)

        async def one(c: Customer) -> None:
            async with limiter:
                try:
                    c.ws = await ws_connect(nursery, self.ws_url)
                    await ws_send(c.ws, {"type": "hello", "token": c.token})
                    await ws_expect(c.ws, "welcome", WS_CONNECT_TIMEOUT_S)
                except (OSError, HandshakeError, ConnectionClosed, trio.TooSlowError, RuntimeError) as exc:
                    self.errors[f"customer connect: {type(exc).__name__}"] += 1
                    c.ws = None
                    return
            nursery.start_soon(self.customer_reader, c)

        async with trio.open_nursery() as n:
            for c in self.customers:
                n.start_soon(one, c)

    # -- the run --

    async def run(self) -> EngineResult:
        cfg = self.cfg
        budget = (SETUP_TIMEOUT_S * 2 + cfg.conversations / cfg.chat_rate + OFFER_TIMEOUT_S
                  + cfg.messages / cfg.rate_per_conv + DELIVERY_TIMEOUT_S + END_TIMEOUT_S + 10)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        with trio.fail_after(budget):
            async with httpx.AsyncClient(base_url=self.base, timeout=HTTP_TIMEOUT_S, limits=limits) as http, \
                    trio.open_nursery() as nursery:
                mark = trio.current_time()

                def lap(name: str) -> None:
                    nonlocal mark
                    now = trio.current_time()
                    self.phase_s[name] = round(now - mark, 2)
                    mark = now

                await self.sign_in_agents(nursery, http)
                lap("agents sign in")

                # phase 1: offers
                start = trio.current_time() + 0.05
                async with trio.open_nursery() as creators:
                    for i in range(cfg.conversations):
                        await trio.sleep_until(start + i / cfg.chat_rate)
                        creators.start_soon(self.create_chat, http, i)
                await self.progress.wait_for(
                    lambda: all(c in self.offer_at and c in self.accepted_at for c in self.created_at),
                    trio.current_time() + OFFER_TIMEOUT_S)
                lap("phase 1: chats, offers, accepts")
                self.customers = [c for c in self.customers if c.conversation_id in self.accepted_at]
                self.customers.sort(key=lambda c: c.index)
                await self.connect_customers(nursery)
                active = [c for c in self.customers if c.ws is not None]
                lap("customers connect")

                # phase 2: messages
                start = trio.current_time() + 0.2

                def sender(c: Customer) -> Callable[[str], Awaitable[None]]:
                    async def send(token: str) -> None:
                        assert c.ws is not None
                        await ws_send(c.ws, {"type": "send", "client_id": token, "text": f"hello bench:{token}"})
                    return send

                async with trio.open_nursery() as senders:
                    for pos, c in enumerate(active):
                        senders.start_soon(paced_sender, pos, len(active), start, cfg.messages, cfg.rate_per_conv,
                                           sender(c), self.scheduled, self.sent, self.send_lag_ms, self.errors,
                                           "customer")
                await self.progress.wait_for(
                    lambda: all(t in self.delivered and t in self.acked for t in self.scheduled),
                    trio.current_time() + DELIVERY_TIMEOUT_S)
                lap("phase 2: messages")
                result = self._result()

                # tidy up: customers end their chats (keeps a reused database free of open chats)
                self.closing = True
                for c in active:
                    assert c.ws is not None
                    try:
                        await ws_send(c.ws, {"type": "end"})
                    except ConnectionClosed:
                        pass
                await self.progress.wait_for(lambda: all(c.conversation_id in self.ended for c in active),
                                             trio.current_time() + END_TIMEOUT_S)
                async with trio.open_nursery() as closers:
                    for ws in [c.ws for c in active] + [a.ws for a in self.agents]:
                        if ws is not None:
                            closers.start_soon(ws_close, ws)
                lap("teardown: end chats, close sockets")
                nursery.cancel_scope.cancel()
        return result

    def _result(self) -> EngineResult:
        cfg = self.cfg
        offer = Series("offer latency (engine)", expected=cfg.conversations)
        offer.samples_ms = [(self.offer_at[c] - t0) * 1000 for c, t0 in self.created_at.items() if c in self.offer_at]
        create = Series("POST /api/chats (engine)", expected=cfg.conversations)
        create.samples_ms = [(self.created_done[c] - t0) * 1000 for c, t0 in self.created_at.items()]
        expected_msgs = cfg.conversations * cfg.messages
        delivery = _latencies("delivery latency (engine)", self.scheduled, self.delivered, expected_msgs)
        ack = _latencies("ack latency (engine)", self.scheduled, self.acked, expected_msgs)
        errors = Counter(self.errors)
        if offer.missing:
            errors["offer timeouts (no offer within the wait)"] += offer.missing
        not_accepted = sum(1 for c in self.created_at if c not in self.accepted_at)
        if not_accepted:
            errors["accept timeouts"] += not_accepted
        undelivered = sum(1 for t in self.scheduled if t not in self.delivered)
        unacked = sum(1 for t in self.scheduled if t not in self.acked)
        if undelivered:
            errors["delivery timeouts (engine)"] += undelivered
        if unacked:
            errors["ack timeouts (engine)"] += unacked
        from_send = _latencies("delivery from actual send (engine)", self.sent, self.delivered, expected_msgs)
        return EngineResult(offer, delivery, ack, create, from_send, list(self.send_lag_ms), errors, self.phase_s)


def scrape_engine_metrics(base: str) -> dict[str, Any]:
    """Engine-side histograms (commit, batch size, send->ack inside the engine) from /metrics."""
    try:
        text = httpx.get(base + "/metrics", timeout=HTTP_TIMEOUT_S).text
    except httpx.HTTPError as exc:
        return {"error": str(exc)}
    out: dict[str, Any] = {}
    for metric, scale in (("frontdesk_commit_latency_seconds", 1000.0), ("frontdesk_message_latency_seconds", 1000.0),
                          ("frontdesk_commit_batch_writes", 1.0)):
        buckets: list[tuple[float, float]] = []
        total = count = 0.0
        for line in text.splitlines():
            if line.startswith(metric + "_bucket{"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                buckets.append((math.inf if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
            elif line.startswith(metric + "_sum"):
                total = float(line.rsplit(" ", 1)[1])
            elif line.startswith(metric + "_count"):
                count = float(line.rsplit(" ", 1)[1])
        if not count:
            continue

        def bound(q: float, buckets: list[tuple[float, float]] = buckets, count: float = count,
                  scale: float = scale) -> float | None:
            for le, cum in buckets:
                if cum >= q * count:
                    return None if math.isinf(le) else le * scale
            return None

        out[metric] = {"count": int(count), "mean": round(total / count * scale, 3),
                       "p50_le": bound(0.5), "p99_le": bound(0.99)}
    return out


# ---- the baseline --------------------------------------------------------------------------

@dataclass
class BaselineResult:
    delivery: Series
    delivery_from_send: Series
    send_lag_ms: list[float]
    errors: Counter[str]


async def run_baseline(port: int, cfg: BenchConfig) -> BaselineResult:
    url = f"ws://127.0.0.1:{port}"
    scheduled: dict[str, float] = {}
    sent: dict[str, float] = {}
    delivered: dict[str, float] = {}
    lag: list[float] = []
    errors: Counter[str] = Counter()
    progress = Progress()
    closing = False
    budget = SETUP_TIMEOUT_S + cfg.messages / cfg.rate_per_conv + DELIVERY_TIMEOUT_S + 10

    async def receiver(ws: WebSocketConnection) -> None:
        try:
            while True:
                raw = await ws.get_message()
                now = trio.current_time()
                frame = orjson.loads(raw)
                m = TOKEN_RE.search(frame.get("text") or "")
                if m:
                    delivered.setdefault(m.group(1), now)
                    progress.changed()
        except ConnectionClosed:
            if not closing:
                errors["relay socket closed"] += 1

    with trio.fail_after(budget):
        async with trio.open_nursery() as nursery:
            pairs: list[tuple[WebSocketConnection, WebSocketConnection]] = []
            limiter = trio.CapacityLimiter(CONNECT_CONCURRENCY)

            async def connect_pair(i: int) -> None:
                async with limiter:
                    a = await ws_connect(nursery, f"{url}/pair/{i}/a")
                    b = await ws_connect(nursery, f"{url}/pair/{i}/b")
                pairs.append((a, b))
                nursery.start_soon(receiver, b)

            with trio.fail_after(SETUP_TIMEOUT_S):
                async with trio.open_nursery() as n:
                    for i in range(cfg.conversations):
                        n.start_soon(connect_pair, i)

            def sender(ws: WebSocketConnection) -> Callable[[str], Awaitable[None]]:
                async def send(token: str) -> None:
                    await ws_send(ws, {"type": "send", "client_id": token, "text": f"hello bench:{token}"})
                return send

            start = trio.current_time() + 0.2
            async with trio.open_nursery() as senders:
                for pos, (a, _b) in enumerate(pairs):
                    senders.start_soon(paced_sender, pos, len(pairs), start, cfg.messages, cfg.rate_per_conv,
                                       sender(a), scheduled, sent, lag, errors, "relay")
            await progress.wait_for(lambda: all(t in delivered for t in scheduled),
                                    trio.current_time() + DELIVERY_TIMEOUT_S)
            closing = True
            async with trio.open_nursery() as closers:
                for a, b in pairs:
                    closers.start_soon(ws_close, a)
                    closers.start_soon(ws_close, b)
            nursery.cancel_scope.cancel()
    expected = cfg.conversations * cfg.messages
    series = _latencies("delivery latency (bare relay)", scheduled, delivered, expected)
    if series.missing:
        errors["delivery timeouts (bare relay)"] += series.missing
    from_send = _latencies("delivery from actual send (bare relay)", sent, delivered, expected)
    return BaselineResult(series, from_send, lag, errors)


# ---- report --------------------------------------------------------------------------------

def lag_summary(lag_ms: list[float]) -> dict[str, float | None]:
    s = sorted(lag_ms)
    return {k: (None if not s else round(percentile(s, p), 3)) for k, p in (("p50", 50), ("p99", 99), ("max", 100))}


def _fmt(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return round(a / b, 2)


def render(report: dict[str, Any]) -> None:
    rows = [(name, s) for name, s in report["results"].items()]
    header = ["latency", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"]
    cells = [[name, f"{s['count']}/{s['expected']}", _fmt(s["p50_ms"]), _fmt(s["p90_ms"]), _fmt(s["p99_ms"]),
              _fmt(s["max_ms"])] for name, s in rows]
    ratios = report["ratios"]
    ratio_line = (f"engine/baseline delivery: p50 x{_fmt(ratios['delivery_p50'])}, "
                  f"p99 x{_fmt(ratios['delivery_p99'])}")
    errors: dict[str, int] = report["errors"]
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"frontdesk latency — {report['config']['conversations']} conversations × "
                            f"{report['config']['messages']} messages @ {report['config']['rate_per_conv']}/s")
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in cells:
            table.add_row(*row)
        console = Console()
        console.print(table)
        console.print(ratio_line)
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
        for row in [header, *cells]:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
        print(ratio_line)
    post = report["extra"]["POST /api/chats (engine)"]
    print(f"POST /api/chats answered (engine): p50 {_fmt(post['p50_ms'])}, p90 {_fmt(post['p90_ms'])}, "
          f"p99 {_fmt(post['p99_ms'])}, max {_fmt(post['max_ms'])} ms")
    extra = report["extra"]
    fe, fb = extra["delivery from actual send (engine)"], extra["delivery from actual send (bare relay)"]
    print(f"delivery from the actual send (generator lag excluded): engine p50 {_fmt(fe['p50_ms'])} / "
          f"p99 {_fmt(fe['p99_ms'])} ms, bare relay p50 {_fmt(fb['p50_ms'])} / p99 {_fmt(fb['p99_ms'])} ms")
    lag = report["generator_send_lag_ms"]
    for run in ("engine", "relay"):
        print(f"generator send lag behind schedule, {run} run: p50 {_fmt(lag[run]['p50'])}, "
              f"p99 {_fmt(lag[run]['p99'])}, max {_fmt(lag[run]['max'])} ms")
    print("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report["phases_s"].items()))
    em = report.get("engine_metrics", {})
    if "frontdesk_commit_latency_seconds" in em:
        c = em["frontdesk_commit_latency_seconds"]
        b = em.get("frontdesk_commit_batch_writes", {})
        m = em.get("frontdesk_message_latency_seconds", {})
        print(f"engine side: {c['count']} commits, mean {c['mean']} ms (p99 <= {c['p99_le']} ms), "
              f"mean batch {b.get('mean', '-')} writes; send->fan-out inside the engine mean "
              f"{m.get('mean', '-')} ms (p99 <= {m.get('p99_le', '-')} ms)")
    load, ncpu = report["load_average_1m"], report["load_average_1m"]["cpus_online"] or 1
    busy = max(load["before"], load["after"]) > 0.75 * ncpu
    print(f"1-min load average: {load['before']} before, {load['after']} after ({ncpu} CPUs)"
          + ("  WARNING: the machine was busy with other work; the figures are noisy" if busy else ""))
    total = sum(errors.values())
    print(f"errors/timeouts: {total}")
    for k, v in sorted(errors.items()):
        print(f"  {v:6d}  {k}")


# ---- main ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--conversations", type=int, default=100, help="concurrent conversations N [100]")
    p.add_argument("--messages", type=int, default=20, help="messages each customer sends [20]")
    p.add_argument("--rate-per-conv", type=float, default=1.0, help="messages per second per conversation [1.0]")
    p.add_argument("--chat-rate", type=float, default=50.0, help="chats opened per second in phase 1 [50]")
    p.add_argument("--database-url", default=None, help="use this PostgreSQL instead of a throw-away embedded one")
    p.add_argument("--quick", action="store_true", help="smoke run: 10 conversations, 5 messages")
    args = p.parse_args(argv)
    if args.quick:
        args.conversations, args.messages = 10, 5
    if args.conversations < 1 or args.messages < 1 or args.rate_per_conv <= 0 or args.chat_rate <= 0:
        p.error("conversations and messages must be >= 1, rates > 0")
    return args


def describe(exc: BaseException) -> str:
    """The leaf exceptions of ``exc`` (trio wraps failures of nursery children in groups)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = BenchConfig(args.conversations, args.messages, args.rate_per_conv, args.chat_rate, args.database_url)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = len(cpus) >= 2
    engine_cpu, generator_cpu = (cpus[0], cpus[1]) if pinned else (None, None)
    if pinned:
        print(f"CPU pinning: engine and relay on CPU {engine_cpu}, load generator on CPU {generator_cpu}; "
              "PostgreSQL unpinned", flush=True)
    else:
        print(f"CPU pinning: off ({len(cpus) or 'unknown'} CPU available): engine, relay and generator share it",
              flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="fdbench-"))
    pg: EmbeddedPostgres | None = None
    engine: EngineProcess | None = None
    metrics: dict[str, Any] = {}
    try:
        if cfg.database_url:
            url = cfg.database_url
            print("database: --database-url (given)", flush=True)
        else:
            pg = EmbeddedPostgres(tmp / "pg")
            url = pg.url
            print("database: throw-away embedded PostgreSQL (pgserver)", flush=True)
        engine = EngineProcess(free_port(), tmp / "engine", url, engine_cpu, tmp / "engine.log")
        engine.start()
        engine.wait_healthy(ENGINE_START_TIMEOUT_S)
        print(f"engine up at {engine.base} after {time.monotonic() - started:.1f} s", flush=True)
        if generator_cpu is not None:
            os.sched_setaffinity(0, {generator_cpu})

        from frontdesk.core.auth import hash_password

        emails = asyncio.run(add_bench_agents(url, cfg.agents, hash_password(BENCH_PASSWORD)))
        print(f"{len(emails)} bench agents of capacity {AGENT_CAPACITY} in queue {QUEUE!r}; "
              f"phase 1: {cfg.conversations} chats at {cfg.chat_rate:g}/s; phase 2: {cfg.messages} messages "
              f"each at {cfg.rate_per_conv:g}/s", flush=True)
        try:
            eng = trio.run(EngineBench(engine.base, cfg, emails).run)
        except BaseException:
            print(engine.log_tail(), file=sys.stderr)
            raise
        metrics = scrape_engine_metrics(engine.base)
        stop_started = time.monotonic()
        how = engine.stop()
        print(f"engine {how} in {time.monotonic() - stop_started:.1f} s; {time.monotonic() - started:.1f} s so far; "
              "baseline relay next", flush=True)

        base_started = time.monotonic()
        with relay_subprocess(free_port(), cpu=engine_cpu) as port:
            base = trio.run(run_baseline, port, cfg)
        base_s = round(time.monotonic() - base_started, 2)
    except Exception as exc:  # every failure of the setup or a phase: report it, exit non-zero
        print(f"benchmark failed: {describe(exc)}", file=sys.stderr)
        return 2
    finally:
        if engine is not None:
            engine.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    results = {s.name: s.summary() for s in (eng.offer, eng.delivery, eng.ack, base.delivery)}
    errors = dict(eng.errors + base.errors)
    d_eng, d_base = results[eng.delivery.name], results[base.delivery.name]
    report: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "config": {"conversations": cfg.conversations, "messages": cfg.messages,
                   "rate_per_conv": cfg.rate_per_conv, "chat_rate": cfg.chat_rate, "agents": cfg.agents,
                   "agent_capacity": AGENT_CAPACITY,
                   "database": "external" if cfg.database_url else "embedded pgserver"},
        "cpu": {"available": cpus, "pinned": pinned, "engine_cpu": engine_cpu, "generator_cpu": generator_cpu},
        "results": results,
        "ratios": {"delivery_p50": _ratio(d_eng["p50_ms"], d_base["p50_ms"]),
                   "delivery_p99": _ratio(d_eng["p99_ms"], d_base["p99_ms"])},
        "extra": {s.name: s.summary() for s in (eng.chat_create, eng.delivery_from_send, base.delivery_from_send)},
        "generator_send_lag_ms": {"engine": lag_summary(eng.send_lag_ms), "relay": lag_summary(base.send_lag_ms)},
        "phases_s": {**eng.phase_s, "baseline relay run": base_s},
        "engine_metrics": metrics,
        "errors": errors,
        "elapsed_s": round(time.monotonic() - started, 1),
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2),
                            "cpus_online": os.cpu_count()},
    }
    ok = not errors and all(s["missing"] == 0 for s in results.values())
    report["ok"] = ok
    render(report)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"latency-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out} "
          f"({report['elapsed_s']} s total): {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
