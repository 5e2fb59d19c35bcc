"""``python -m benchmarks.load``: flags → settings → servers → one trio run → report, JSON and plots.

Exit status: 0 when the run finished with samples and without a single error or timeout, 1 when
it finished with errors (the report is still written), 2 when it could not run (a server did not
start, set-up failed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from ..baseline_relay import tune_gc
from . import progress
from .agents_db import prepare_agents
from .burst import run_burst
from .config import SCENARIOS, LoadConfig, from_scenario
from .context import RunContext
from .converse import run_converse
from .idle import run_idle
from .report import build, render
from .sampler import Sampler, postmaster_pid
from .scale import ScaleSeed, run_scale
from .scale_report import show_scale
from .servers import Servers

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
FLOOD_CHARS_MAX = 10_000        # PROTOCOL.md §4: a send's text
BUSY_LOAD_PER_CPU = 0.75

# flag -> (LoadConfig field, type, help)
FLAGS: list[tuple[str, str, Any, str]] = [
    ("--duration", "duration_s", float, "measured seconds per target, split across rounds"),
    ("--warmup", "warmup_s", float, "unmeasured seconds at the start of every segment"),
    ("--rounds", "rounds", int, "engine/relay segments per target, interleaved ABBA"),
    ("--seed", "seed", int, "seed of every random choice (arrivals, send spacing, phases)"),
    ("--mode", "mode", str, "closed | open loop"),
    ("--conversations", "conversations", int, "concurrent conversations (fixed number)"),
    ("--arrival-rate", "arrival_rate", float, "Poisson chat arrivals per second instead of a fixed number"),
    ("--rate", "rate", float, "open loop: customer messages per second over all conversations"),
    ("--conv-rate", "conv_rate", float, "open loop: customer messages per second per conversation (wins)"),
    ("--send-process", "send_process", str, "open loop spacing of one customer's sends: uniform | poisson"),
    ("--exchanges", "exchanges", int, "the agent ends a chat after this many replies (0 = never)"),
    ("--customer-think", "customer_think_s", float, "closed loop: seconds between a reply and the next message"),
    ("--accept-delay", "accept_delay_s", float, "agent think time before accepting an offer (s)"),
    ("--reply-delay", "reply_delay_s", float, "agent think time before replying (s; not counted as latency)"),
    ("--ramp-rate", "ramp_rate", float, "chats opened per second while filling the conversation slots"),
    ("--text-bytes", "text_bytes", int, "characters of text per message"),
    ("--flood-messages", "flood_messages", int, "one more customer floods its chat with this many messages, "
                                                "a third into the measured window (0 = none)"),
    ("--flood-chars", "flood_chars", int, "characters of each flooding message [10000]"),
    ("--agents", "agents", int, "bench agents of capacity 5 (0 = enough for every conversation)"),
    ("--http-logins", "http_logins", int, "agents that sign in over HTTP (argon2); the rest get DB tokens"),
    ("--http-connections", "http_connections", int, "keep-alive connections the chats' POSTs share [64]"),
    ("--sockets", "sockets", int, "idle: authenticated websockets to hold"),
    ("--sockets-per-agent", "sockets_per_agent", int, "idle: sockets per bench agent"),
    ("--connect-concurrency", "connect_concurrency", int, "idle: connects in progress at once"),
    ("--burst-chats", "burst_chats", int, "burst: chats to create"),
    ("--burst-window", "burst_window_s", float, "burst: seconds to create them in"),
    ("--seed-conversations", "seed_conversations", int, "scale: resting conversations written before the engine"),
    ("--seed-customers", "seed_customers", int, "scale: ...of this many customers"),
    ("--probe-rate", "probe_rate", float, "scale: conversations opened (and account hellos) per second"),
    ("--timeout", "timeout_s", float, "seconds after which a message, offer or reply counts as a timeout"),
    ("--database-url", "database_url", str, "use this PostgreSQL instead of a throw-away embedded one"),
    ("--out-dir", "out_dir", str, "where the JSON and PNGs go [benchmarks/results]"),
    ("--tag", "tag", str, "a word added to the result file names"),
    ("--progress", "progress", str, "live display: auto | on | off"),
]


def parse_args(argv: list[str] | None) -> LoadConfig:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load",
                                description="Load generator: frontdesk against a bare websocket relay.")
    p.add_argument("--scenario", default="custom", choices=[*SCENARIOS, "custom"],
                   help="named preset; flags given override it")
    for flag, _field, kind, help_ in FLAGS:
        p.add_argument(flag, type=kind, default=None, help=help_)
    p.add_argument("--vs-baseline", dest="vs_baseline", action="store_true", default=None,
                   help="also drive the bare relay, interleaved, and print ratios")
    p.add_argument("--no-baseline", dest="vs_baseline", action="store_false")
    p.add_argument("--durable-relay", dest="durable_relay", action="store_true", default=None,
                   help="the baseline relay commits every message to PostgreSQL (group commit) before "
                        "forwarding it, as the engine does (implies --vs-baseline)")
    p.add_argument("--no-plots", dest="plots", action="store_false", default=None)
    p.add_argument("--no-pin", dest="pin", action="store_false", default=None, help="do not pin CPUs")
    p.add_argument("--no-warm-wal", dest="warm_wal", action="store_false", default=None,
                   help="measure on a fresh cluster's WAL (each new segment written full of zeros first)")
    p.add_argument("--pg-sched-normal", dest="pg_batch", action="store_false", default=None,
                   help="the throw-away PostgreSQL at the default CPU policy instead of SCHED_BATCH")
    p.add_argument("--engine-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the engine (repeatable)")
    args = p.parse_args(argv)
    overrides: dict[str, Any] = {f: getattr(args, flag[2:].replace("-", "_")) for flag, f, _k, _h in FLAGS}
    overrides.update(vs_baseline=args.vs_baseline, plots=args.plots, pin=args.pin, warm_wal=args.warm_wal,
                     pg_batch=args.pg_batch, durable_relay=args.durable_relay)
    if args.durable_relay:
        overrides["vs_baseline"] = True
    overrides = {k: v for k, v in overrides.items() if v is not None}
    env = dict(item.split("=", 1) for item in args.engine_env if "=" in item)
    if env:
        overrides["engine_env"] = env
    cfg = from_scenario(args.scenario, overrides)
    problems = []
    if cfg.mode not in ("closed", "open"):
        problems.append("--mode must be closed or open")
    if cfg.kind == "converse" and cfg.conversations < 1 and cfg.arrival_rate <= 0:
        problems.append("--conversations must be >= 1 (or give --arrival-rate)")
    if cfg.http_connections < 1:
        problems.append("--http-connections must be >= 1")
    if cfg.mode == "open" and cfg.rate <= 0 and cfg.conv_rate <= 0:
        problems.append("open loop needs --rate or --conv-rate > 0")
    if cfg.kind == "converse" and cfg.arrival_rate > 0 and cfg.exchanges <= 0:
        problems.append("Poisson arrivals need --exchanges > 0 (chats must end)")
    if cfg.flood_messages and cfg.kind != "converse":
        problems.append("--flood-messages needs a converse scenario (smoke, steady, soak, saturate)")
    if cfg.flood_messages < 0 or not 1 <= cfg.flood_chars <= FLOOD_CHARS_MAX:
        problems.append(f"--flood-messages must be >= 0 and --flood-chars 1..{FLOOD_CHARS_MAX}")
    if cfg.duration_s <= 0 or cfg.rounds < 1 or cfg.timeout_s <= 0:
        problems.append("--duration and --timeout must be > 0, --rounds >= 1")
    if problems:
        p.error("; ".join(problems))
    if cfg.kind == "burst" and cfg.vs_baseline:
        print("burst has no relay equivalent (no offers there): running the engine only")
        cfg = from_scenario(args.scenario, {**overrides, "vs_baseline": False})
    return cfg


def planned_seconds(cfg: LoadConfig) -> float:
    targets = 2 if cfg.vs_baseline else 1
    if cfg.kind == "converse":
        fill = cfg.conversations / cfg.ramp_rate if cfg.arrival_rate <= 0 else 0.0
        return targets * (cfg.rounds * (fill + cfg.warmup_s + 2.0) + cfg.duration_s)
    if cfg.kind == "idle":
        return targets * (cfg.sockets / 300 + 3 + cfg.duration_s)
    if cfg.kind == "scale":
        return 35 + cfg.warmup_s + cfg.duration_s + cfg.sockets / 300
    return cfg.burst_window_s + 2


def load_average(before: float) -> dict[str, Any]:
    after = os.getloadavg()[0]
    ncpu = os.cpu_count() or 1
    out: dict[str, Any] = {"before": round(before, 2), "after": round(after, 2), "cpus_online": ncpu}
    if max(before, after) > BUSY_LOAD_PER_CPU * ncpu:
        out["warning"] = "  (the machine was busy with other work: figures are noisy)"
    return out


async def run_all(ctx: RunContext, pids: dict[str, int | None], seed: ScaleSeed | None = None) -> None:
    tune_gc()   # the generator holds thousands of sockets too: no full-collection pauses in its measurements
    ctx.origin = ctx.sampler.origin = trio.current_time()
    ctx.phase.started = ctx.origin
    ctx.sampler.add("engine", pids.get("engine"))
    ctx.sampler.add("relay", pids.get("relay"))
    ctx.sampler.add("postgres", pids.get("postgres"), with_children=True)
    ctx.sampler.add("generator", os.getpid())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ctx.sampler.run)
        nursery.start_soon(ctx.sweep_forever)
        nursery.start_soon(progress.show, ctx, ctx.cfg.progress)
        if ctx.cfg.kind == "converse":
            await run_converse(ctx)
        elif ctx.cfg.kind == "idle":
            await run_idle(ctx, pids.get("engine"), pids.get("relay"))
        elif ctx.cfg.kind == "scale":
            assert seed is not None and seed.seeded is not None
            await run_scale(ctx, pids.get("engine"), seed.seeded)
        else:
            await run_burst(ctx)
        ctx.sampler.sample_now()
        nursery.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    started = time.monotonic()
    started_wall = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    load_before = os.getloadavg()[0]
    out_dir = Path(cfg.out_dir) if cfg.out_dir else RESULTS_DIR
    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {message}", flush=True)

    log(f"scenario {cfg.scenario}: {cfg.kind}, {cfg.agent_count} agents, "
        f"{'with' if cfg.vs_baseline else 'without'} the {'durable' if cfg.durable_relay else 'bare'} relay baseline")
    seed = ScaleSeed(cfg, log) if cfg.kind == "scale" else None      # written before the engine starts
    try:
        with Servers(cfg, log=log, before_engine=seed) as servers:
            tokens_for = cfg.agent_count if cfg.kind == "idle" else max(0, cfg.agent_count - cfg.http_logins)
            emails, tokens = prepare_agents(servers.database_url, cfg.agent_count, tokens_for)
            log(f"{len(emails)} bench agents (capacity 5), {len(emails) - len(tokens)} sign in over HTTP")
            pids = {"engine": servers.engine_pid, "relay": servers.relay_pid,
                    "postgres": postmaster_pid(servers.pgdata) if servers.pgdata else None}
            ctx = RunContext(cfg, servers.engine_base, servers.relay_port, emails, tokens, 0.0, Sampler(0.0),
                             rng=random.Random(cfg.seed))
            ctx.phase.planned_s = planned_seconds(cfg)
            try:
                trio.run(run_all, ctx, pids, seed)
            except BaseException:
                print(servers.engine_log_tail(), file=sys.stderr)
                raise
            died = servers.engine_exit_status()
            if died is not None:
                ctx.recorder("engine").error(f"the engine exited during the run (status {died})")
                print(servers.engine_log_tail(), file=sys.stderr)
            cpus = {"available": servers.cpus, "servers_cpu": servers.server_cpu,
                    "generator_cpu": servers.generator_cpu, "postgres": "unpinned",
                    "postgres_policy": servers.pg_policy}
            server_info = {"engine_pid": servers.engine_pid, "relay_pid": servers.relay_pid,
                           "database": "external" if cfg.database_url else "embedded pgserver (throw-away)"}
            log("load done; stopping the servers")
    except Exception as exc:  # set-up or a server failed: say so, exit 2
        print(f"load run failed: {_describe(exc)}", file=sys.stderr)
        return 2
    log("servers stopped")
    report = build(ctx, started_wall, time.monotonic() - started, load_average(load_before), cpus, server_info)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / "-".join(x for x in ("load", cfg.scenario, cfg.tag,
                                          datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")) if x)
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    render(report)
    written = [json_path]
    if cfg.kind == "scale":
        written += show_scale(report, stem, cfg.plots)
    if cfg.plots:
        try:
            from .plots import plot

            written += plot(report, stem)
        except ImportError as exc:
            print(f"no plots ({exc}); pip install matplotlib")
    print("wrote " + ", ".join(str(_rel(p)) for p in written))
    print(f"{'OK' if report['ok'] else 'FAILED'}: {report['errors_total']} errors/timeouts, "
          f"{report['elapsed_s']} s", flush=True)
    return 0 if report["ok"] else 1


def _rel(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
