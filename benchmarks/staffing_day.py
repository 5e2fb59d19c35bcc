"""A simulated day against the real engine, to check the staffing forecast (``dashboard/forecast.py``).

    .venv/bin/python -m benchmarks.staffing_day [--agents 10 --capacity 2 --hour-seconds 30 ...]

A throw-away PostgreSQL and the engine run as subprocesses (as ``benchmarks.load`` does). Simulated
agents sign in (database tokens, ``load/agents_db.py``), go available, accept every offer at once
and end each chat after an exponential handling time. Customers arrive as a Poisson process whose
rate follows an hourly profile (``POST /api/chats``; they do not open a socket, so nothing but the
agents decides when a chat ends). After the day the database says what happened: per simulated hour
the arrivals, the mean handling time (accepted → ended) and the share of chats accepted within the
target wait. The day's service level is checked against Erlang C's for the same staffing
(servers = agents × capacity) at the plan's expected rates, as the dashboard forecasts a day from
rates averaged over weeks; each hour is also shown beside Erlang C at that hour's realised rates.
Those hour-by-hour figures are not the check: one hour's realised load is a single random draw,
Erlang C falls steeply with load, and a busy hour's line does not reach Erlang C's steady state
within the hour, so a day weighted from them comes out several points below what was measured.

Time is compressed: one hour lasts ``--hour-seconds`` (30 s: a factor of 120), arrival rates are
multiplied and handling times and the target wait divided by the same factor. Erlang C depends only
on the offered load A = λ·AHT and the ratio target/AHT, which the scaling keeps; arrivals stay Poisson
and handling times exponential under a change of time unit, and the line is still first come, first
served with patient customers. What does not scale is the engine's own latency (offer → accept,
milliseconds): it must stay small beside the scaled target wait and handling time, so the scale
factor has a limit (the report prints the measured offer latency beside the target).

The first hour is a warm-up (the day starts with an empty line) and is not compared. The run fails
(exit 1) when the day's measured service level is more than ``--tolerance`` points from the forecast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from frontdesk.dashboard import forecast

from .latency import ENGINE_START_TIMEOUT_S, QUEUE, EmbeddedPostgres, EngineProcess, free_port
from .load.agents_db import prepare_agents
from .load.wsio import expect, open_ws, send_json

# chats per real hour, hour by hour; the first hour is the warm-up
DEFAULT_PROFILE = (300, 260, 300, 340, 320, 280, 300, 330, 290)
HTTP_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 60.0
# customers never give up in Erlang C: the engine's own timeouts must not end a waiting chat
ENGINE_ENV = {"FRONTDESK_CUSTOMER_GRACE_MS": str(3_600_000), "FRONTDESK_MAX_WAIT_S": str(3_600),
              "FRONTDESK_OFFER_TIMEOUT_MS": str(60_000)}


@dataclass(frozen=True)
class DayPlan:
    agents: int
    capacity: int
    hour_s: float                 # wall-clock seconds of one simulated hour
    aht_s: float                  # real mean handling time (seconds)
    target_s: float               # real target wait (seconds)
    profile: tuple[int, ...]      # real chats per hour, the first being the warm-up
    seed: int = 1

    @property
    def scale(self) -> float:
        return 3600 / self.hour_s

    @property
    def sim_aht_s(self) -> float:
        return self.aht_s / self.scale

    @property
    def sim_target_s(self) -> float:
        return self.target_s / self.scale


def arrivals(plan: DayPlan, rng: random.Random) -> list[float]:
    """Arrival times (seconds from the start of the day) of a Poisson process whose rate is
    constant within each simulated hour."""
    out: list[float] = []
    for h, per_hour in enumerate(plan.profile):
        rate = per_hour * plan.scale / 3600          # chats per wall-clock second
        t = h * plan.hour_s
        end = (h + 1) * plan.hour_s
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= end:
                break
            out.append(t)
    return out


@dataclass(frozen=True)
class HourResult:
    hour: int
    chats: int
    aht_s: float | None             # real seconds (measured, unscaled back)
    erlangs: float
    measured: float | None          # share accepted within the target
    forecast: float | None


def planned_forecast(plan: DayPlan) -> float:
    """Erlang C's service level for the day after the warm-up from the plan's expected rates (the
    profile and the mean handling time), weighted by the expected chats: what the dashboard's
    forecast says before a day, from rates averaged over many weeks."""
    servers = plan.agents * plan.capacity
    hours = plan.profile[1:]
    level = sum(rate * forecast.service_level(servers, forecast.traffic(rate, plan.aht_s), plan.aht_s,
                                              plan.target_s) for rate in hours)
    return level / sum(hours) if sum(hours) else math.nan


def compare(plan: DayPlan, rows: Sequence[dict[str, Any]], day_start: float) -> tuple[list[HourResult], float, float]:
    """Per simulated hour and for the day after the warm-up: measured service level beside Erlang C.
    ``rows``: each chat's ``created`` and ``accepted`` (epoch seconds) and ``handled_s`` (None
    while it runs)."""
    by_hour: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        h = int((r["created"] - day_start) // plan.hour_s)
        if 0 <= h < len(plan.profile):
            by_hour[h].append(r)
    servers = plan.agents * plan.capacity
    results = []
    for h in range(len(plan.profile)):
        chats = by_hour.get(h, [])
        handled = [r["handled_s"] for r in chats if r["handled_s"] is not None]
        aht = sum(handled) / len(handled) if handled else None
        accepted = [r for r in chats if r["accepted"] is not None]
        within = sum(1 for r in accepted if r["accepted"] - r["created"] <= plan.sim_target_s)
        measured = within / len(chats) if chats else None
        a = len(chats) / plan.hour_s * aht if aht else 0.0
        predicted = forecast.service_level(servers, a, aht, plan.sim_target_s) if aht else None
        results.append(HourResult(h, len(chats), None if aht is None else aht * plan.scale, a, measured, predicted))
    counted = [r for r in results[1:] if r.chats and r.forecast is not None and r.measured is not None]
    total = sum(r.chats for r in counted)
    day_measured = sum(r.chats * (r.measured or 0.0) for r in counted) / total if total else math.nan
    day_forecast = sum(r.chats * (r.forecast or 0.0) for r in counted) / total if total else math.nan
    return results, day_measured, day_forecast


class Floor:
    """The simulated agents: accept every offer, end each chat after an exponential handling time."""

    def __init__(self, ws_url: str, plan: DayPlan, rng: random.Random):
        self.ws_url = ws_url
        self.plan = plan
        self.rng = rng
        self.offer_latency: list[float] = []       # offer frame → conversation frame, seconds
        self.errors: list[str] = []
        self.closing = False

    async def agent(self, token: str, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with open_ws(self.ws_url) as ws, trio.open_nursery() as holds:
            await send_json(ws, {"type": "hello", "token": token})
            await expect(ws, "welcome", HTTP_TIMEOUT_S)
            await send_json(ws, {"type": "presence", "state": "available"})
            await expect(ws, "presence", HTTP_TIMEOUT_S)
            task_status.started()
            offered: dict[str, float] = {}
            try:
                while True:
                    frame = orjson.loads(await ws.get_message())
                    kind = frame.get("type")
                    if kind == "offer":
                        offered[str(frame["conversation_id"])] = trio.current_time()
                        await send_json(ws, {"type": "accept", "offer_id": frame["offer_id"]})
                    elif kind == "conversation":
                        cid = str(frame["conversation_id"])
                        if cid in offered:
                            self.offer_latency.append(trio.current_time() - offered.pop(cid))
                            holds.start_soon(self._hold, ws, cid, self.rng.expovariate(1 / self.plan.sim_aht_s))
                    elif kind in ("error", "offer_revoked", "requeued"):
                        self.errors.append(f"{kind}: {frame.get('code') or frame.get('reason')}")
            except ConnectionClosed:
                if not self.closing:
                    self.errors.append("agent socket closed by the engine")
                holds.cancel_scope.cancel()

    async def _hold(self, ws: WebSocketConnection, cid: str, seconds: float) -> None:
        await trio.sleep(seconds)
        try:
            await send_json(ws, {"type": "end", "conversation_id": cid})
        except ConnectionClosed:
            if not self.closing:
                self.errors.append("agent socket closed while ending")


async def _customers(base: str, times: list[float], start: float, errors: list[str]) -> None:
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=4.0)
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT_S, limits=limits) as http, \
            trio.open_nursery() as nursery:
        for k, t in enumerate(times):
            await trio.sleep_until(start + t)
            nursery.start_soon(_post_chat, http, k, errors)


async def _post_chat(http: httpx.AsyncClient, k: int, errors: list[str]) -> None:
    body = {"queue": QUEUE, "name": f"Day Customer {k}", "email": f"day{k}@example.com", "question": f"question {k}"}
    try:
        r = await http.post("/api/chats", content=orjson.dumps(body), headers={"content-type": "application/json"})
        if r.status_code != 201:
            errors.append(f"POST /api/chats: {r.status_code}")
    except httpx.HTTPError as exc:
        errors.append(f"POST /api/chats: {type(exc).__name__}")


def chats(database_url: str) -> list[dict[str, Any]]:
    """Every simulated chat: ``created``, ``accepted`` (epoch seconds) and ``handled_s`` (accepted → ended)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM created_at), extract(epoch FROM accepted_at), "
            "extract(epoch FROM ended_at - accepted_at) FROM conversations "
            "WHERE customer_name LIKE 'Day Customer %'").fetchall()
    return [{"created": float(c), "accepted": None if a is None else float(a),
             "handled_s": None if h is None else float(h)} for c, a, h in rows]


async def run_day(plan: DayPlan, base: str, tokens: list[str], progress: bool = True) -> dict[str, Any]:
    """The day itself: agents on the floor, customers arriving; returns its start (epoch seconds),
    the offer → accept latencies and any errors."""
    rng = random.Random(plan.seed)
    times = arrivals(plan, rng)
    floor = Floor(base.replace("http", "ws", 1) + "/ws", plan, random.Random(plan.seed + 1))
    errors: list[str] = []
    async with trio.open_nursery() as nursery:
        for token in tokens:
            await nursery.start(floor.agent, token)
        # the database's clock stamps the chats: the day starts at its now
        start_wall = time.time()
        start = trio.current_time()
        if progress:
            print(f"{len(tokens)} agents available; {len(times)} chats over {len(plan.profile)} simulated hours "
                  f"of {plan.hour_s:g} s", flush=True)
        await _customers(base, times, start, errors)
        # the last chats are handled to their end: their handling times count too
        await trio.sleep(min(DRAIN_TIMEOUT_S, plan.sim_aht_s * 10))
        floor.closing = True
        nursery.cancel_scope.cancel()
    return {"start": start_wall, "offer_latency": sorted(floor.offer_latency), "errors": errors + floor.errors}


def report(plan: DayPlan, rows: list[dict[str, Any]], day: dict[str, Any]) -> dict[str, Any]:
    results, measured, predicted = compare(plan, rows, day["start"])
    latency = day["offer_latency"]
    return {
        "plan": {**asdict(plan), "scale": plan.scale, "sim_aht_s": plan.sim_aht_s, "sim_target_s": plan.sim_target_s,
                 "servers": plan.agents * plan.capacity},
        "chats": len(rows), "accepted": sum(1 for r in rows if r["accepted"] is not None),
        "hours": [asdict(r) for r in results],
        "measured": measured, "forecast": planned_forecast(plan), "realised_forecast": predicted,
        "difference_points": (measured - planned_forecast(plan)) * 100,
        "offer_accept_p50_ms": latency[len(latency) // 2] * 1000 if latency else None,
        "offer_accept_p99_ms": latency[int(len(latency) * 0.99)] * 1000 if latency else None,
        "errors": day["errors"],
    }


def render(report: dict[str, Any]) -> None:
    plan = report["plan"]
    print(f"\nservers = {plan['agents']} agents × capacity {plan['capacity']} = {plan['servers']}; "
          f"target {plan['target_s']:g} s, handling {plan['aht_s']:g} s (× 1/{plan['scale']:g}: "
          f"{plan['sim_target_s'] * 1000:.0f} ms and {plan['sim_aht_s']:.2f} s)")
    print(f"{'hour':>4} {'chats':>6} {'AHT s':>7} {'Erlangs':>8} {'measured':>9} {'forecast':>9}")
    for h in report["hours"]:
        note = "  (warm-up)" if h["hour"] == 0 else ""
        aht = "—" if h["aht_s"] is None else f"{h['aht_s']:.0f}"
        m = "—" if h["measured"] is None else f"{h['measured']:.1%}"
        f = "—" if h["forecast"] is None else f"{h['forecast']:.1%}"
        print(f"{h['hour']:>4} {h['chats']:>6} {aht:>7} {h['erlangs']:>8.2f} {m:>9} {f:>9}{note}")
    print(f"day (after the warm-up): measured {report['measured']:.1%}, forecast from the plan's rates "
          f"{report['forecast']:.1%}, difference {report['difference_points']:+.1f} points (hour by hour from "
          f"the realised rates: {report['realised_forecast']:.1%})")
    if report["offer_accept_p50_ms"] is not None:
        print(f"offer → accepted: p50 {report['offer_accept_p50_ms']:.1f} ms, "
              f"p99 {report['offer_accept_p99_ms']:.1f} ms (target wait {plan['sim_target_s'] * 1000:.0f} ms)")
    if report["errors"]:
        print(f"errors: {len(report['errors'])}, first: {report['errors'][:5]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--agents", type=int, default=10)
    p.add_argument("--capacity", type=int, default=2)
    p.add_argument("--hour-seconds", type=float, default=30.0, help="wall-clock seconds of a simulated hour")
    p.add_argument("--aht", type=float, default=180.0, help="mean handling time in real seconds")
    p.add_argument("--target", type=float, default=20.0, help="target wait in real seconds")
    p.add_argument("--profile", default=",".join(map(str, DEFAULT_PROFILE)),
                   help="chats per real hour, hour by hour (the first is a warm-up)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tolerance", type=float, default=2.0, help="points the day may be off the forecast")
    p.add_argument("--json", type=Path, help="write the report here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = DayPlan(args.agents, args.capacity, args.hour_seconds, args.aht, args.target,
                   tuple(int(x) for x in args.profile.split(",") if x.strip()), args.seed)
    os.environ.update(ENGINE_ENV)
    with tempfile.TemporaryDirectory(prefix="fdday-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        engine = EngineProcess(free_port(), Path(tmp) / "data", pg.url, None, Path(tmp) / "engine.log")
        try:
            engine.start()
            engine.wait_healthy(ENGINE_START_TIMEOUT_S)
            emails, tokens = prepare_agents(pg.url, plan.agents, plan.agents)
            _set_capacity(pg, emails, plan.capacity)
            day = trio.run(run_day, plan, engine.base, [tokens[e] for e in emails])
            result = report(plan, chats(pg.url), day)
        finally:
            engine.stop()
            pg.stop()
    render(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    ok = not result["errors"] and abs(result["difference_points"]) <= args.tolerance
    print("OK: within" if ok else "FAILED: not within", f"{args.tolerance:g} points of the forecast")
    return 0 if ok else 1


def _set_capacity(pg: EmbeddedPostgres, emails: list[str], capacity: int) -> None:
    quoted = ", ".join("'" + e.replace("'", "''") + "'" for e in emails)
    pg._server.psql(f"UPDATE staff SET capacity = {int(capacity)} WHERE email IN ({quoted});")


if __name__ == "__main__":
    sys.exit(main())
