"""The ``scale`` workload: an engine over 100,000 resting messaging conversations of 20,000 customers.

The conversations are written before the engine starts (``scale_seed.py``); no actor runs for
them. Agents (``scale_agents.py``) accept every offer and set the conversation pending at once.
Four phases, one after the other, each its own segment (measured window) of the engine:

1. **open** — at ``probe_rate`` per second for ``PROBE_S``, a customer opens a resting
   conversation from its mail's link: a socket, ``hello`` with the link token and ``resume``
   from 0 → ``welcome`` (``open_welcome``; the conversation's actor is started from its rows)
   and its whole public history (``open_history``), a ``ping`` (``pong``, the floor: the engine's
   bare round trip on the same socket), the socket closed (the conversation rests again), then
   ``GET /api/conversations/{id}/transcript`` with the same token (``transcript``) and
   ``GET /healthz`` (``healthz``, the floor of an HTTP request that asks the database).
2. **accounts** — at the same rate, a customer says ``hello`` with an account token → the
   ``welcome`` listing their conversations (``account_welcome``; PROTOCOL.md §6), then ``ping``;
   ``GET /api/customers/me/conversations`` (``my_conversations``) where the engine serves it.
   Sign-in itself (``POST /api/customers/code`` + ``/login``) is ``scale_signin.py``'s: measured
   where the engine serves it, reported as missing where it does not.
3. **wake** — ``sockets`` resting conversations are opened at once (``connect_concurrency`` at a
   time; ``wake``: hello → welcome) and held; then all closed; then as many others, once more.
   The engine's RSS and its number of live Conversation actors (``frontdesk_live_actors`` in
   ``/metrics``) before, while awake and after they rested again: the actors must go, and the
   memory must not grow from one round to the next (the allocator keeps what it freed for reuse,
   so the first round's high-water mark is the floor the second is judged against).
4. **reopen** — for ``warmup_s`` + ``duration_s``, ``rate`` reopenings per second (Poisson): a
   customer opens a pending conversation with its link token and writes in it (``reopen_hello``,
   ``reopen_ack``; ``reopen_offer``: the send → the agent's ``offer``), and closes once the agent
   has set it pending again; meanwhile new chats arrive at ``arrival_rate`` per second (Poisson,
   ``POST /api/chats`` to the same queue; ``offer``: the POST → the ``offer``). The ratio of the
   two offer p50s is the figure (target ≤ 1.2): a reopening should cost about what a new chat does.

Every figure of its own (ratios to the floors, the targets, memory, CPU per phase) goes into the
report's ``extra`` (``scale_report.py`` prints and plots them); each phase's segment carries the
live-actor count sampled once a second.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import ConnectionClosed, HandshakeError

from . import engine_metrics, stats
from .config import LoadConfig
from .context import RunContext
from .converse import SIGN_IN_TIMEOUT_S
from .engine_sim import HTTP_CONNECTIONS, HTTP_TIMEOUT_S, limits
from .http_lanes import HttpLanes
from .idle import SETTLE_S, steady_rss
from .scale_agents import ScaleAgents, reopen_token
from .scale_report import TARGET_P99_MS, TARGET_REOPEN_RATIO
from .scale_seed import QUEUE, Seeded, SeedPlan, conversation_id, pick, seed
from .scale_signin import sign_in_phase
from .traffic import Conv, Plan, message_text
from .wsio import expect, open_ws, send_json

PROBE_S = 10.0              # each of the open and accounts phases
REST_TIMEOUT_S = 60.0       # the woken conversations' actors must be gone by then
WAKE_ROUNDS = 2             # the second round shows whether the first one's memory is used again
METRICS_EVERY_S = 1.0
DRAIN_S = 2.0               # after a phase's last start, before what is missing counts as timed out
ACCOUNT_LIST = 200          # the welcome lists a customer's newest 200 conversations
LIVE_CONVERSATIONS = 'frontdesk_live_actors{actor="conversation"}'

# How the report titles the paths of this scenario (``stats.PATH_TITLES`` holds every scenario's).
PATH_TITLES = {
    "open_welcome": "link hello → welcome (resting conversation)",
    "open_history": "link hello → whole history (resume 0)",
    "pong": "ping → pong (floor)",
    "transcript": "GET /api/conversations/{id}/transcript",
    "healthz": "GET /healthz (floor)",
    "account_welcome": "account hello → welcome (my conversations)",
    "my_conversations": "GET /api/customers/me/conversations",
    "signin_code": "POST /api/customers/code",
    "signin_login": "POST /api/customers/login (code)",
    "reopen_hello": "link hello → welcome, under load",
    "reopen_ack": "reopening send → ack",
    "reopen_offer": "reopening send → offer",
    "wake": "link hello → welcome, many at once",
}
stats.PATH_TITLES.update(PATH_TITLES)


def picks_needed(cfg: LoadConfig) -> tuple[int, int, int, int]:
    """How many conversations (open, reopen, wake) and customers (accounts) the phases use: the
    Poisson reopenings get a margin of six standard deviations and a hundred more."""
    probes = math.ceil(cfg.probe_rate * PROBE_S)
    expected = cfg.rate * (cfg.warmup_s + cfg.duration_s)
    reopen = math.ceil(expected + 6 * math.sqrt(expected) + 100) if cfg.rate > 0 else 0
    return probes, reopen, cfg.sockets * WAKE_ROUNDS, probes


class ScaleSeed:
    """Called by ``Servers`` with the database's URL before the engine starts (``before_engine``):
    the seeded conversations and the tokens of those the phases will use."""

    def __init__(self, cfg: LoadConfig, log: Callable[[str], None] = print):
        self.cfg = cfg
        self.log = log
        self.seeded: Seeded | None = None

    def __call__(self, database_url: str) -> None:
        cfg = self.cfg
        plan = SeedPlan(cfg.seed_conversations, cfg.seed_customers)
        picks = pick(plan, random.Random(cfg.seed), *picks_needed(cfg))
        self.log(f"seed: {plan.conversations:,} resting conversations of {plan.customers:,} customers")
        self.seeded = seed(database_url, plan, picks, cfg.agent_count, self.log)
        self.log(f"seed: done in {self.seeded.timings_s['total']:.1f} s")


def schedule(rng: random.Random, rate: float, start: float, end: float, poisson: bool) -> list[float]:
    """Start times in [start, end): evenly spaced, or Poisson arrivals at ``rate`` per second."""
    if rate <= 0:
        return []
    if not poisson:                     # by index, not by sum: no rounding drift over thousands
        return [t for t in (start + k / rate for k in range(1, math.ceil((end - start) * rate) + 1)) if t < end]
    times: list[float] = []
    t = start
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return times
        times.append(t)


def p50(summary: dict[str, Any], path: str) -> float | None:
    s = summary.get(path)
    return s.get("p50_ms") if s else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


@dataclass
class Gauge:
    """The engine's live Conversation actors, read from ``/metrics``, and its samples (s, count)."""

    http: httpx.AsyncClient
    origin: float
    samples: list[tuple[float, float]] = field(default_factory=list)

    async def read(self) -> float | None:
        try:
            r = await self.http.get("/metrics")
        except httpx.HTTPError:
            return None
        for line in r.text.splitlines():
            if line.startswith(LIVE_CONVERSATIONS + " "):
                return float(line.split()[1])
        return 0.0 if r.status_code == 200 else None     # no actor has run yet: no sample

    async def watch(self) -> None:
        while True:
            value = await self.read()
            if value is not None:
                self.samples.append((round(trio.current_time() - self.origin, 2), value))
            await trio.sleep(METRICS_EVERY_S)

    def between(self, start: float, end: float) -> list[list[float]]:
        a, b = start - self.origin, end - self.origin
        return [[t, n] for t, n in self.samples if a <= t <= b]


class Scale:
    def __init__(self, ctx: RunContext, engine_pid: int | None, seeded: Seeded):
        self.ctx, self.cfg, self.seeded = ctx, ctx.cfg, seeded
        self.rec = ctx.recorder("engine")
        self.pid = engine_pid
        self.ws_url = ctx.engine_base.replace("http", "ws", 1) + "/ws"
        self.world = ScaleAgents(ctx.engine_base, Plan.of(ctx.cfg), self.rec, ctx.rng, ctx.cfg.text_bytes)
        self.world.queue = QUEUE
        self.world.consent = True       # the demo's messaging queue asks for the privacy consent
        self.extra: dict[str, Any] = ctx.extra.setdefault("engine", {})
        self.open_sockets = 0
        self._actors_before = 0.0
        self.gauge: Gauge | None = None
        self.http: httpx.AsyncClient | None = None
        ctx.live["engine"] = lambda: self.open_sockets

    # ---- helpers ------------------------------------------------------------------------------

    def _segment(self, label: str, start: float, window: tuple[float, float]) -> None:
        assert self.gauge is not None
        end = trio.current_time()
        self.ctx.add_segment("engine", start, window, end, label=label,
                             live_conversation_actors=self.gauge.between(start, end))
        processes = self.ctx.sampler.summary([window])
        engine, generator = processes.get("engine", {}), processes.get("generator", {})
        # waits: the share of the phase a process was ready to run but another held the CPU
        self.extra[f"engine_cpu_pct_{label}"] = engine.get("cpu_pct_mean")
        self.extra[f"engine_waits_pct_{label}"] = engine.get("runq_wait_pct_mean")
        self.extra[f"generator_waits_pct_{label}"] = generator.get("runq_wait_pct_mean")

    async def _open_loop(self, times: list[float], items: list[Any], one: Callable[[Any], Awaitable[None]]) -> None:
        """Start ``one(item)`` at each time (open loop: a slow engine does not slow the starts)."""
        async with trio.open_nursery() as nursery:
            for t, item in zip(times, items, strict=False):
                await trio.sleep_until(t)
                nursery.start_soon(self._guarded, one, item)

    async def _guarded(self, one: Callable[[Any], Awaitable[None]], item: Any) -> None:
        try:
            with trio.fail_after(self.cfg.timeout_s * 3):
                await one(item)
        except (OSError, HandshakeError, ConnectionClosed, trio.TooSlowError, RuntimeError, httpx.HTTPError,
                ValueError) as exc:
            self.rec.error(f"{getattr(one, '__name__', 'customer')}: {type(exc).__name__}: {str(exc)[:60]}")

    # ---- 1. open a resting conversation ----------------------------------------------------------

    async def _open_one(self, g: int) -> None:
        assert self.http is not None
        token, cid, n = self.seeded.link_tokens[g], conversation_id(g), self.seeded.plan.messages_of(g)
        rec = self.rec
        self.open_sockets += 1
        try:
            async with open_ws(self.ws_url) as ws:
                t0 = trio.current_time()
                await send_json(ws, {"type": "hello", "token": token, "resume": {cid: 0}})
                welcome = await expect(ws, "welcome", self.cfg.timeout_s)
                rec.setup("open_welcome", t0, trio.current_time())
                view = welcome.get("conversation") or {}
                if view.get("status") not in ("pending", "resolved") or view.get("last_seq") != n:
                    rec.error(f"open: welcome not of the resting conversation ({view.get('status')}, "
                              f"last_seq {view.get('last_seq')} of {n})")
                while True:
                    frame = await expect(ws, "message", self.cfg.timeout_s)
                    if frame.get("seq") == n:
                        break
                rec.setup("open_history", t0, trio.current_time())
                await self._pong(ws)
        finally:
            self.open_sockets -= 1
        t = trio.current_time()
        r = await self.http.get(f"/api/conversations/{cid}/transcript", headers={"Authorization": f"Bearer {token}"})
        rec.setup("transcript", t, trio.current_time())
        if r.status_code != 200 or len(r.json().get("messages", [])) != n:
            rec.error(f"transcript: {r.status_code}")
        await self._healthz()

    async def _pong(self, ws: Any) -> None:
        t = trio.current_time()
        await send_json(ws, {"type": "ping"})
        await expect(ws, "pong", self.cfg.timeout_s)
        self.rec.setup("pong", t, trio.current_time())

    async def _healthz(self) -> None:
        assert self.http is not None
        t = trio.current_time()
        r = await self.http.get("/healthz")
        self.rec.setup("healthz", t, trio.current_time())
        if r.status_code != 200:
            self.rec.error(f"healthz: {r.status_code}")

    async def _probe_phase(self, label: str, items: list[int], one: Callable[[int], Awaitable[None]]) -> None:
        self.ctx.phase.label = f"engine: {label} ({self.cfg.probe_rate:g}/s)"
        start = trio.current_time() + 0.2
        times = schedule(self.ctx.rng, self.cfg.probe_rate, start, start + PROBE_S, poisson=False)
        window = (start, start + PROBE_S)
        self.rec.open_window(*window)
        await self._open_loop(times, items, one)
        self._segment(label, start - 0.2, window)

    # ---- 2. my conversations -------------------------------------------------------------------

    async def _account_one(self, customer: int) -> None:
        assert self.http is not None
        token = self.seeded.account_tokens[customer]
        rec = self.rec
        self.open_sockets += 1
        try:
            async with open_ws(self.ws_url) as ws:
                t0 = trio.current_time()
                await send_json(ws, {"type": "hello", "token": token})
                welcome = await expect(ws, "welcome", self.cfg.timeout_s)
                rec.setup("account_welcome", t0, trio.current_time())
                listed = welcome.get("conversations")
                owned = min(ACCOUNT_LIST, self.seeded.plan.conversations_of(customer))
                if not isinstance(listed, list) or len(listed) != owned:
                    rec.error("account: welcome does not list every conversation of the customer")
                await self._pong(ws)
        finally:
            self.open_sockets -= 1
        if self.extra.get("my_conversations_http") == "served":
            t = trio.current_time()
            r = await self.http.get("/api/customers/me/conversations",
                                    headers={"Authorization": f"Bearer {token}"})
            rec.setup("my_conversations", t, trio.current_time())
            if r.status_code != 200:
                rec.error(f"my conversations: {r.status_code}")
        await self._healthz()

    async def _served(self, path: str, token: str) -> bool:
        """Whether the engine serves ``GET path`` (404 on an engine without the route)."""
        assert self.http is not None
        r = await self.http.get(path, headers={"Authorization": f"Bearer {token}"})
        return r.status_code != 404

    # ---- 3. reopenings beside new chats -----------------------------------------------------------

    async def _reopen_one(self, item: tuple[int, int]) -> None:
        n, g = item
        token, rec = self.seeded.link_tokens[g], self.rec
        self.open_sockets += 1
        try:
            async with open_ws(self.ws_url) as ws:
                t0 = trio.current_time()
                await send_json(ws, {"type": "hello", "token": token})
                welcome = await expect(ws, "welcome", self.cfg.timeout_s)
                rec.setup("reopen_hello", t0, trio.current_time())
                if (welcome.get("conversation") or {}).get("status") != "pending":
                    rec.error("reopen: the conversation was not pending")
                tok = reopen_token(n)
                t1 = trio.current_time()
                rec.expect("reopen_offer", tok, t1)
                rec.expect("reopen_ack", tok, t1)
                await send_json(ws, {"type": "send", "client_id": tok, "text": message_text(tok, self.cfg.text_bytes)})
                with trio.fail_after(self.cfg.timeout_s):
                    while True:     # until the agent has set it aside again
                        frame = orjson.loads(await ws.get_message())
                        kind = frame.get("type")
                        if kind == "ack":
                            rec.arrived("reopen_ack", tok, trio.current_time())
                        elif kind == "status" and frame.get("status") == "pending" and frame.get("by") == "agent":
                            break
                        elif kind == "error":
                            rec.error(f"reopen: error event {frame.get('code')}")
        finally:
            self.open_sockets -= 1

    async def _new_chats(self, times: list[float], serials: itertools.count[int]) -> list[Conv]:
        convs: list[Conv] = []
        async with trio.open_nursery() as nursery:
            for t in times:
                await trio.sleep_until(t)
                conv = Conv(next(serials))
                convs.append(conv)
                nursery.start_soon(self.world.create_chat, conv, t)
        return convs

    async def _reopen_phase(self) -> None:
        cfg, rec, world = self.cfg, self.rec, self.world
        self.ctx.phase.label = f"engine: {cfg.rate:g} reopenings/s + {cfg.arrival_rate:g} new chats/s"
        start = trio.current_time() + 0.2
        window = (start + cfg.warmup_s, start + cfg.warmup_s + cfg.duration_s)
        rec.open_window(*window)
        reopen_times = schedule(self.ctx.rng, cfg.rate, start, window[1], poisson=True)
        chat_times = schedule(self.ctx.rng, cfg.arrival_rate, start, window[1], poisson=True)
        picks = self.seeded.picks.reopen
        if len(reopen_times) > len(picks):
            rec.error("reopen: fewer pending conversations picked than reopenings due", len(reopen_times) - len(picks))
        convs: list[Conv] = []

        async def chats() -> None:
            convs.extend(await self._new_chats(chat_times, itertools.count()))

        async def engine_side() -> None:
            """The engine's commits and a new chat's time inside it over the window (/metrics)."""
            await trio.sleep_until(window[0])
            before = await world.engine_metrics()
            await trio.sleep_until(window[1])
            after = await world.engine_metrics()
            if before and after:
                self.extra.update({f"reopen_{k}": v for k, v in
                                   engine_metrics.window(before, after, cfg.duration_s).items()})

        async with trio.open_nursery() as nursery:
            nursery.start_soon(chats)
            nursery.start_soon(engine_side)
            await self._open_loop(reopen_times, list(enumerate(picks)), self._reopen_one)
        with trio.move_on_after(cfg.timeout_s):        # offers of the last chats
            while any(c.cid and c.cid not in world.accepted_at for c in convs):
                await world.changed.wait()
        await trio.sleep(DRAIN_S)
        self.ctx.expire_all("engine")
        created = [c for c in convs if c.cid]
        never = sum(1 for c in created if c.cid not in world.offered_at)
        if never:
            rec.error("new chat never offered", never)
        self.extra.update(reopenings=len(reopen_times), new_chats=len(created))
        self._segment("reopen", start - 0.2, window)

    # ---- 4. many woken at once, then resting again -------------------------------------------------

    async def _settled_actors(self, at_most: float, timeout_s: float) -> tuple[float | None, float]:
        """Wait until at most ``at_most`` Conversation actors run; (their number, seconds waited)."""
        assert self.gauge is not None
        t0 = trio.current_time()
        value = await self.gauge.read()
        with trio.move_on_after(timeout_s):
            while value is None or value > at_most:
                await trio.sleep(0.25)
                value = await self.gauge.read()
        return value, trio.current_time() - t0

    async def _wake_round(self, picks: list[int]) -> dict[str, Any]:
        """Wake ``picks`` together, hold them, close them all, and wait until their actors are gone."""
        cfg, rec = self.cfg, self.rec
        gate = trio.Semaphore(cfg.connect_concurrency)
        release = trio.Event()
        all_up = trio.Event()
        counts = {"up": 0, "settled": 0}

        def settled() -> None:
            counts["settled"] += 1
            if counts["settled"] >= len(picks):
                all_up.set()

        async def hold(g: int) -> None:
            """One socket: connected (``connect_concurrency`` at a time), woken, held until released."""
            await gate.acquire()
            released = counted = False
            try:
                async with open_ws(self.ws_url) as ws:
                    self.open_sockets += 1
                    try:
                        t0 = trio.current_time()
                        await send_json(ws, {"type": "hello", "token": self.seeded.link_tokens[g]})
                        await expect(ws, "welcome", cfg.timeout_s)
                        rec.setup("wake", t0, trio.current_time(), always=True)
                        gate.release()
                        released = counted = True
                        counts["up"] += 1
                        settled()
                        await release.wait()
                    finally:
                        self.open_sockets -= 1
            except (OSError, HandshakeError, ConnectionClosed, trio.TooSlowError, RuntimeError) as exc:
                if not release.is_set():
                    rec.error(f"wake: {type(exc).__name__}")
                if not counted:
                    settled()
            finally:
                if not released:
                    gate.release()

        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for g in picks:
                nursery.start_soon(hold, g)
            with trio.move_on_after(cfg.timeout_s + len(picks) / 50):
                await all_up.wait()
            connect_s = trio.current_time() - start
            await trio.sleep(SETTLE_S)
            awake, _ = await self._settled_actors(math.inf, 0)
            rss_awake = await steady_rss(self.pid)
            release.set()
        after, rest_s = await self._settled_actors(self._actors_before, REST_TIMEOUT_S)
        if after is None or after > self._actors_before:
            rec.error("wake: the woken conversations' actors did not all go")
        await trio.sleep(SETTLE_S)
        return {"woken": counts["up"], "connect_s": connect_s, "awake": awake, "rss_awake": rss_awake,
                "after": after, "rest_s": rest_s, "rss_after": await steady_rss(self.pid)}

    async def _wake_phase(self) -> None:
        picks, n = self.seeded.picks.wake, self.cfg.sockets
        self.ctx.phase.label = f"engine: waking {n} resting conversations, {WAKE_ROUNDS} times"
        start = trio.current_time()
        before, _ = await self._settled_actors(0, REST_TIMEOUT_S)
        self._actors_before = before or 0.0
        rss_before = await steady_rss(self.pid)
        rounds = [await self._wake_round(picks[k * n:(k + 1) * n]) for k in range(WAKE_ROUNDS)]
        first, last = rounds[0], rounds[-1]
        woken = first["woken"]
        self.extra.update(
            woken=woken, wake_rounds=len(rounds), wake_connect_s=round(first["connect_s"], 2),
            live_conversations_before=before, live_conversations_awake=first["awake"],
            live_conversations_after=last["after"], rest_s=round(max(r["rest_s"] for r in rounds), 2),
            rss_before_mib=_r(rss_before), rss_awake_mib=_r(first["rss_awake"]), rss_after_mib=_r(first["rss_after"]),
            rss_after_last_round_mib=_r(last["rss_after"]),
            kib_per_woken=_r((first["rss_awake"] - rss_before) * 1024 / woken)
            if first["rss_awake"] and rss_before and woken else None,
            rss_after_over_before=ratio(first["rss_after"], rss_before),
            rss_last_round_over_first=ratio(last["rss_after"], first["rss_after"]))
        self._segment("wake", start, (start, trio.current_time()))

    # ---- the run -------------------------------------------------------------------------------

    def _figures(self) -> None:
        """Ratios to the floors of the same run, and the targets, from the paths' percentiles."""
        paths = {name: s.summary() for name, s in self.rec.paths.items()}
        x = self.extra
        x["open_welcome_p50_over_pong"] = ratio(p50(paths, "open_welcome"), p50(paths, "pong"))
        x["account_welcome_p50_over_pong"] = ratio(p50(paths, "account_welcome"), p50(paths, "pong"))
        x["transcript_p50_over_healthz"] = ratio(p50(paths, "transcript"), p50(paths, "healthz"))
        x["reopen_offer_p50_over_new"] = ratio(p50(paths, "reopen_offer"), p50(paths, "offer"))
        for path in ("open_welcome", "open_history", "transcript", "account_welcome", "my_conversations",
                     "signin_code", "signin_login"):
            summary = paths.get(path) or {}
            if summary.get("p99_ms") is not None:
                x[f"target_{path}_p99_under_{TARGET_P99_MS:g}ms"] = (summary["p99_ms"] < TARGET_P99_MS
                                                                      and not summary["timeouts"])
        r = x["reopen_offer_p50_over_new"]
        if r is not None:       # a reopening never offered within the timeout misses it whatever the p50
            lost = self.rec.paths["reopen_offer"].timeouts
            x[f"target_reopen_over_new_at_most_{TARGET_REOPEN_RATIO:g}"] = r <= TARGET_REOPEN_RATIO and not lost

    async def run(self) -> None:
        cfg, seeded = self.cfg, self.seeded
        self.extra.update(seed_conversations=seeded.plan.conversations, seed_customers=seeded.plan.customers,
                          seed_s=seeded.timings_s.get("total"))
        async with httpx.AsyncClient(base_url=self.ctx.engine_base, timeout=HTTP_TIMEOUT_S,
                                     limits=limits(HTTP_CONNECTIONS)) as http, \
                HttpLanes(self.ctx.engine_base, HTTP_TIMEOUT_S, cfg.http_connections) as chat_posts, \
                trio.open_nursery() as background:
            self.http = self.world.http = http
            self.world.chat_posts = chat_posts
            self.gauge = Gauge(http, self.ctx.origin)
            background.start_soon(self.gauge.watch)
            self.extra["rss_at_start_mib"] = _r(await steady_rss(self.pid))
            self.extra["live_conversations_at_start"] = await self.gauge.read()
            self.ctx.phase.label, self.ctx.phase.target = f"signing in {len(self.ctx.agent_emails)} agents", "engine"
            await self.world.sign_in(background, self.ctx.agent_emails, self.ctx.agent_tokens, SIGN_IN_TIMEOUT_S)
            account = seeded.account_tokens[seeded.picks.accounts[0]]
            served = await self._served("/api/customers/me/conversations", account)
            self.extra["my_conversations_http"] = "served" if served else "not served by this engine"
            await self._probe_phase("open", seeded.picks.open, self._open_one)
            await self._probe_phase("accounts", seeded.picks.accounts, self._account_one)
            await sign_in_phase(self.ctx, http, seeded, self._segment, PROBE_S)
            await self._wake_phase()        # before the load: its RSS before is the engine's at rest
            await self._reopen_phase()
            self._figures()
            self.world.closing = True
            background.cancel_scope.cancel()


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


async def run_scale(ctx: RunContext, engine_pid: int | None, seeded: Seeded) -> None:
    await Scale(ctx, engine_pid, seeded).run()
