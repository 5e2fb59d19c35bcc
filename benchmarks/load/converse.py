"""The ``converse`` workload (smoke, steady, saturate): segments of conversations, engine and relay interleaved.

Agents sign in once and stay connected for the whole run. Each segment fills its conversation
slots (``ramp_rate`` chats per second; every chat created, offered, accepted and connected but
silent until all are: ``StartGate``) or starts Poisson arrivals, runs ``warmup_s`` unmeasured and
``duration_s / rounds`` measured, then stops sending, lets every conversation finish (replies in
flight, ``end``) and counts what never arrived as timeouts. With a baseline the segments go
relay, engine, engine, relay, ... (ABBA), so a machine that gets busier or quieter during the run
biases neither side. With ``flood_messages`` the first engine segment also has one customer
flooding its chat a third into the measured window (``flood.py``).

Every wait is bounded: a segment is cut off ``timeout_s + TEARDOWN_S`` after its measured time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Protocol

import httpx
import trio

from . import engine_metrics
from .context import RunContext
from .engine_sim import HTTP_CONNECTIONS, HTTP_TIMEOUT_S, EngineWorld, limits
from .flood import AT_FRACTION, flood
from .http_lanes import HttpLanes
from .relay_sim import RelayWorld
from .traffic import Plan, StartGate, first_limit

TEARDOWN_S = 15.0
FILL_SLACK_S = 10.0
SIGN_IN_TIMEOUT_S = 120.0


class World(Protocol):
    running: bool
    open_conversations: int
    gate: StartGate

    async def one_conversation(self, serial: int, limit: int) -> None: ...

    async def engine_metrics(self) -> dict[str, float]: ...


async def drive(world: World, ctx: RunContext, plan: Plan, serials: Iterator[int]) -> None:
    """Keep ``conversations`` chats going (or Poisson arrivals) while ``world.running``."""
    cfg = ctx.cfg

    async def slot(at: float) -> None:
        await trio.sleep_until(at)
        limit = first_limit(plan, ctx.rng)
        while world.running:
            await world.one_conversation(next(serials), limit)
            limit = plan.exchanges

    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        if cfg.arrival_rate > 0:
            t = start
            while world.running:
                t += ctx.rng.expovariate(cfg.arrival_rate)
                await trio.sleep_until(t)
                if world.running:
                    nursery.start_soon(world.one_conversation, next(serials), plan.exchanges)
        else:
            for i in range(cfg.conversations):
                nursery.start_soon(slot, start + i / cfg.ramp_rate)


async def segment(ctx: RunContext, target: str, world: World, plan: Plan, serials: Iterator[int],
                  measured_s: float, label: str) -> None:
    cfg, rec = ctx.cfg, ctx.recorder(target)
    start = trio.current_time()
    ctx.phase.label, ctx.phase.target = label + ": filling", target
    world.running = True
    world.gate.reset(cfg.conversations if cfg.arrival_rate <= 0 else 0)
    fill_s = cfg.conversations / cfg.ramp_rate + cfg.timeout_s + FILL_SLACK_S
    window = (math.inf, math.inf)
    with trio.move_on_at(start + fill_s + cfg.warmup_s + measured_s + cfg.timeout_s + TEARDOWN_S) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drive, world, ctx, plan, serials)
            with trio.move_on_after(fill_s):
                await world.gate.filled.wait()
            if not world.gate.filled.is_set():
                rec.error(f"only {world.gate.ready} of {world.gate.target} conversations ready in time")
            world.gate.go.set()
            filled = trio.current_time()
            window = (filled + cfg.warmup_s, filled + cfg.warmup_s + measured_s)
            rec.open_window(*window)
            ctx.extra.setdefault(target, {}).setdefault("fill_s", []).append(round(filled - start, 2))
            ctx.phase.label = label
            if cfg.flood_messages and isinstance(world, EngineWorld) and "flood" not in ctx.extra.get(target, {}):
                nursery.start_soon(flood, ctx, world, window[0] + measured_s * AT_FRACTION)
            await trio.sleep_until(window[0])
            ctx.phase.label = label + ": measuring"
            before = await world.engine_metrics()
            await trio.sleep_until(window[1])
            after = await world.engine_metrics()
            if before and after:
                ctx.extra.setdefault(target, {}).setdefault("engine_side", []).append(
                    engine_metrics.window(before, after, measured_s))
            world.running = False
            ctx.phase.label = label + ": draining"
    world.running = False
    if scope.cancelled_caught:
        rec.error("segment did not wind down in time (conversations cut off)")
    ctx.expire_all(target)
    if not math.isfinite(window[0]):
        window = (start, start)
    ctx.add_segment(target, start, window, trio.current_time(), label=label)


async def run_converse(ctx: RunContext) -> None:
    cfg = ctx.cfg
    plan = Plan.of(cfg)
    serials = itertools.count()
    engine = EngineWorld(ctx.engine_base, plan, ctx.recorder("engine"), ctx.rng, cfg.text_bytes)
    worlds: dict[str, World] = {"engine": engine}
    if cfg.vs_baseline:
        assert ctx.relay_port is not None
        worlds["relay"] = RelayWorld(ctx.relay_port, plan, ctx.recorder("relay"), ctx.rng, cfg.text_bytes)
    ctx.live = {name: _open_counter(w) for name, w in worlds.items()}
    async with httpx.AsyncClient(base_url=ctx.engine_base, timeout=HTTP_TIMEOUT_S,
                                 limits=limits(HTTP_CONNECTIONS)) as http, \
            HttpLanes(ctx.engine_base, HTTP_TIMEOUT_S, cfg.http_connections) as chat_posts, \
            trio.open_nursery() as agents:
        engine.http, engine.chat_posts = http, chat_posts
        ctx.phase.label = f"signing in {len(ctx.agent_emails)} agents"
        t0 = trio.current_time()
        await engine.sign_in(agents, ctx.agent_emails, ctx.agent_tokens, SIGN_IN_TIMEOUT_S)
        ctx.extra.setdefault("engine", {})["agents_signed_in_s"] = round(trio.current_time() - t0, 2)
        per_round = cfg.duration_s / cfg.rounds
        for r in range(cfg.rounds):
            order = ["relay", "engine"] if r % 2 == 0 else ["engine", "relay"]
            for target in order:
                if target in worlds:
                    await segment(ctx, target, worlds[target], plan, serials, per_round,
                                  f"{target} {r + 1}/{cfg.rounds}")
        engine.closing = True
        agents.cancel_scope.cancel()


def _open_counter(world: World) -> Callable[[], int]:
    return lambda: world.open_conversations

