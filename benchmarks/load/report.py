"""The run's results as one JSON-able dict, its figures as ratios to the baseline, and the printed tables."""

from __future__ import annotations

import math
import os
import platform
import sys
from typing import Any

from .context import RunContext
from .memory import describe, memory_figures
from .stats import MESSAGE_PATHS, PERCENTILES, pct_key, percentile

SETUP_PATHS = ("login", "agent_connect", "create", "offer", "accept", "connect")
PATH_ORDER = (*MESSAGE_PATHS, *SETUP_PATHS, "send_lag")
WIDE_OUTPUT = 160       # characters, when the output is not a terminal (logs, the test suite)
LATENCY_KEYS = (*(pct_key(p) for p in PERCENTILES), "max_ms")


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return {"cpu_model": model, "cpus_online": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "python": sys.version.split()[0]}


# The generator's mean CPU (over a target's measured windows) from which that target's throughput
# and latency show the generator's limit rather than the server's.
GENERATOR_BOUND_PCT = 90.0


def _rate(n: float, seconds: float) -> float | None:
    return round(n / seconds, 1) if seconds > 0 else None


def target_summary(ctx: RunContext, target: str) -> dict[str, Any]:
    rec = ctx.recorders[target]
    measured = rec.measured_s
    arrivals = rec.window_arrivals
    paths = {p: rec.paths[p].summary() for p in PATH_ORDER if p in rec.paths}
    paths.update({p: s.summary() for p, s in rec.paths.items() if p not in paths})
    msgs = arrivals["c2a"] + arrivals["a2c"]
    acks = arrivals["ack"] + arrivals["agent_ack"]
    throughput = {"measured_s": round(measured, 2), "msgs_per_s": _rate(msgs, measured),
                  "customer_msgs_per_s": _rate(arrivals["c2a"], measured),
                  "acks_per_s": _rate(acks, measured) if target == "engine" else None,
                  "connects_per_s": _rate(arrivals["connect"], measured),
                  "chats_per_s": _rate(arrivals["chat"], measured) if target == "engine" else None}
    resources = ctx.sampler.summary(rec.windows)
    server = resources.get(target, {})
    done = acks if target == "engine" else msgs
    if server.get("cpu_pct_mean") and done:
        throughput["server_cpu_us_per_msg"] = round(server["cpu_pct_mean"] / 100 * measured / done * 1e6, 1)
        # what one dedicated core would carry at this cost: robust against a machine shared with other work
        throughput["msgs_per_server_cpu_s"] = round(done / (server["cpu_pct_mean"] / 100 * measured), 1)
    generator_cpu = resources.get("generator", {}).get("cpu_pct_mean") or 0.0
    chats = arrivals["chat"]
    if target == "engine" and chats and not msgs and ctx.cfg.kind == "burst":
        # chats and nothing else (burst): what one chat's creation, offer and accept cost each side
        for key, process in (("server_cpu_ms_per_chat", server), ("generator_cpu_ms_per_chat",
                                                                  resources.get("generator", {}))):
            if process.get("cpu_pct_mean"):
                throughput[key] = round(process["cpu_pct_mean"] / 100 * measured / chats * 1e3, 3)
    windows = [(ctx.rel(start), ctx.rel(end)) for start, end in rec.windows]
    memory = memory_figures(ctx.sampler.series().get(target, []), windows, ctx.extra.get(target, {}).get("flood"))
    return {"paths": paths, "throughput": throughput, "resources": resources, "memory": memory,
            "generator_bound": generator_cpu >= GENERATOR_BOUND_PCT,
            "errors": dict(sorted(rec.errors.items())), "errors_total": sum(rec.errors.values()),
            "counters": dict(rec.counters), "timeline": rec.timeline_rows(), "extra": ctx.extra.get(target, {})}


def _ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return round(a / b, 3)


def ratios(engine: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    """Each figure of the engine divided by the same figure of the bare relay."""
    out: dict[str, Any] = {}
    for path in ("c2a", "a2c", "connect"):
        e, r = engine["paths"].get(path), relay["paths"].get(path)
        if e and r:
            out[path] = {k: _ratio(e.get(k), r.get(k)) for k in (*LATENCY_KEYS, "mean_ms")}
    te, tr = engine["throughput"], relay["throughput"]
    out["durable_ack_throughput"] = _ratio(te.get("acks_per_s"), tr.get("msgs_per_s"))
    out["msgs_per_s"] = _ratio(te.get("msgs_per_s"), tr.get("msgs_per_s"))
    out["server_cpu_us_per_msg"] = _ratio(te.get("server_cpu_us_per_msg"), tr.get("server_cpu_us_per_msg"))
    out["msgs_per_server_cpu_s"] = _ratio(te.get("msgs_per_server_cpu_s"), tr.get("msgs_per_server_cpu_s"))
    re_, rr = engine["resources"].get("engine", {}), relay["resources"].get("relay", {})
    out["server_rss_mib_max"] = _ratio(re_.get("rss_mib_max"), rr.get("rss_mib_max"))
    out["server_cpu_pct_mean"] = _ratio(re_.get("cpu_pct_mean"), rr.get("cpu_pct_mean"))
    xe, xr = engine.get("extra", {}), relay.get("extra", {})
    for key in ("kib_per_socket", "connects_per_s", "server_cpu_ms_per_connect"):
        if key in xe and key in xr:
            out[f"idle_{key}"] = _ratio(xe[key], xr[key])
    return out


def segment_rows(ctx: RunContext) -> list[dict[str, Any]]:
    """Each measured segment on its own (whole seconds inside its window): with ``--rounds 2`` or
    ``--vs-baseline`` a reader sees how far two segments of the same server differ, the run's own
    measure of noise, next to the difference between the servers."""
    rows: list[dict[str, Any]] = []
    for seg in ctx.segments:
        rec = ctx.recorders.get(seg["target"])
        first, last = math.ceil(seg["measure_from_s"]), math.floor(seg["measure_to_s"])
        if rec is None or last <= first:
            continue
        seconds = [rec.timeline[i] for i in range(first, last) if i in rec.timeline]
        msgs = sum(s.arrivals["c2a"] + s.arrivals["a2c"] for s in seconds)
        c2a = sorted(ms for s in seconds for ms in s.latencies_ms.get("c2a", []))
        rows.append({"target": seg["target"], "label": seg.get("label", ""), "from_s": first, "to_s": last,
                     "msgs_per_s": _rate(msgs, last - first),
                     "c2a_p50_ms": round(percentile(c2a, 50), 2) if c2a else None,
                     "c2a_p99_ms": round(percentile(c2a, 99), 2) if c2a else None})
    return rows


def build(ctx: RunContext, started_wall: str, elapsed_s: float, load: dict[str, Any], cpus: dict[str, Any],
          servers: dict[str, Any]) -> dict[str, Any]:
    targets = {t: target_summary(ctx, t) for t in ("engine", "relay") if t in ctx.recorders}
    report: dict[str, Any] = {
        "scenario": ctx.cfg.scenario, "started": started_wall, "elapsed_s": round(elapsed_s, 1),
        "config": ctx.cfg.as_dict(), "machine": machine(), "load_average": load, "cpu_placement": cpus,
        "servers": servers, "segments": ctx.segments, "segment_figures": segment_rows(ctx), "targets": targets,
        "resource_series": ctx.sampler.series(),
    }
    if "engine" in targets and "relay" in targets:
        report["ratios"] = ratios(targets["engine"], targets["relay"])
    errors = sum(t["errors_total"] for t in targets.values())
    report["errors_total"] = errors
    report["ok"] = errors == 0 and any(t["paths"] for t in targets.values())
    return report


# ---- printing --------------------------------------------------------------------------------

def _f(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=WIDE_OUTPUT)
    cfg = report["config"]
    title = (f"frontdesk load — scenario {report['scenario']} ({cfg['kind']}, {cfg['mode']} loop, "
             f"{cfg['conversations']} conversations)" if cfg["kind"] == "converse"
             else f"frontdesk load — scenario {report['scenario']} ({cfg['kind']})")
    lat = Table(title=title)
    for i, h in enumerate(["path", "target", "count", "timeouts", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                           "max ms"]):
        lat.add_column(h, justify="left" if i < 2 else "right")
    for target, t in report["targets"].items():
        for s in t["paths"].values():
            lat.add_row(s["title"], target, _f(s["count"]), _f(s["timeouts"]),
                        *(_f(s.get(k)) for k in LATENCY_KEYS))
    console.print(lat)

    res = Table(title="throughput and resources (measured windows)")
    for i, h in enumerate(["target", "msgs/s", "acks/s", "connects/s", "chats/s", "server CPU %", "server waits %",
                           "CPU µs/msg", "server RSS MiB", "PG CPU %", "PG PSS MiB", "gen. CPU %", "gen. waits %",
                           "errors"]):
        res.add_column(h, justify="left" if i == 0 else "right")
    durable = bool(cfg.get("durable_relay"))
    for target, t in report["targets"].items():
        tp, rs = t["throughput"], t["resources"]
        server, pg, gen = rs.get(target, {}), rs.get("postgres", {}), rs.get("generator", {})
        uses_pg = target == "engine" or durable
        res.add_row(target, _f(tp["msgs_per_s"], 1), _f(tp["acks_per_s"], 1), _f(tp["connects_per_s"], 1),
                    _f(tp["chats_per_s"], 1), _f(server.get("cpu_pct_mean"), 1),
                    _f(server.get("runq_wait_pct_mean"), 1),
                    _f(tp.get("server_cpu_us_per_msg"), 1), _f(server.get("rss_mib_max"), 1),
                    _f(pg.get("cpu_pct_mean"), 1) if uses_pg else "-",
                    _f(pg.get("pss_mib_max"), 1) if uses_pg else "-",
                    _f(gen.get("cpu_pct_mean"), 1), _f(gen.get("runq_wait_pct_mean"), 1), _f(t["errors_total"]))
    console.print(res)
    for target, t in report["targets"].items():
        if t.get("generator_bound"):
            console.print(f"[yellow]{target}: the generator used ≥ {GENERATOR_BOUND_PCT:g} % of its core, so msgs/s "
                          f"and latency show the generator's limit; CPU µs/msg is the firmer figure[/yellow]")

    segments = report.get("segment_figures", [])
    if len(segments) > 1:
        st = Table(title="each measured segment (whole seconds): how far segments of one server differ is the noise")
        for i, h in enumerate(["segment", "target", "window s", "msgs/s", "c2a p50 ms", "c2a p99 ms"]):
            st.add_column(h, justify="left" if i < 2 else "right")
        for n, row in enumerate(segments, 1):
            st.add_row(f"{n} {row['label']}".strip(), row["target"], f"{row['from_s']}–{row['to_s']}",
                       _f(row["msgs_per_s"], 1), _f(row["c2a_p50_ms"]), _f(row["c2a_p99_ms"]))
        console.print(st)
    for target, t in report["targets"].items():
        if t.get("memory"):
            console.print(f"[bold]{target}[/bold] memory: {describe(t['memory'])}")
        extra = {k: v for k, v in t["extra"].items() if k != "flood"}
        if extra:
            console.print(f"[bold]{target}[/bold]: " + ", ".join(f"{k} {_f(v)}" for k, v in extra.items()))
        flood = t["extra"].get("flood")
        if flood:
            console.print(f"[bold]{target}[/bold] flood: {flood['acked']:,} of {flood['messages']:,} messages of "
                          f"{flood['chars']:,} characters acked, {_f(flood.get('started_s'), 1)}–"
                          f"{_f(flood.get('ended_s'), 1)} s")
        per_chat = {k: t["throughput"][k] for k in ("server_cpu_ms_per_chat", "generator_cpu_ms_per_chat")
                    if k in t["throughput"]}
        if per_chat:
            shown = ", ".join(f"{k.split('_cpu')[0]} {_f(v, 3)}" for k, v in per_chat.items())
            console.print(f"[bold]{target}[/bold] CPU per chat (ms): {shown}")
    if "ratios" in report:
        r = report["ratios"]
        rt = Table(title=f"engine ÷ {'durable' if durable else 'bare'} relay (same generator, interleaved)")
        for i, h in enumerate(["figure", "p50", "p90", "p99", "p99.9", "max", "mean"]):
            rt.add_column(h, justify="left" if i == 0 else "right")
        for path in ("c2a", "a2c", "connect"):
            if path in r:
                rt.add_row(report["targets"]["engine"]["paths"][path]["title"],
                           *(_f(r[path].get(k), 2) for k in (*LATENCY_KEYS, "mean_ms")))
        console.print(rt)
        singles = {k: v for k, v in r.items() if not isinstance(v, dict) and v is not None}
        console.print("ratios: " + ", ".join(f"{k} ×{_f(v, 2)}" for k, v in singles.items()))
    if durable:
        console.print("relay = the durable relay: every message committed to PostgreSQL (group commit) before "
                      "it is forwarded (benchmarks/baseline_durable.py)")
    console.print("waits % = time the process's threads were runnable but waited for a CPU taken by other "
                  "work (/proc schedstat)")
    load = report["load_average"]
    console.print(f"1-min load average: {load['before']} before, {load['after']} after "
                  f"({report['machine']['cpus_online']} CPUs){load.get('warning', '')}")
    for target, t in report["targets"].items():
        for key, n in t["errors"].items():
            console.print(f"  [red]{target}[/red] {n:6d}  {key}")
