"""The scale scenario's own table and plot, from a saved report (``scale.py`` fills its figures).

The table puts each measured path beside its floor from the same run (``pong``: the engine's bare
round trip on the same socket; ``healthz``: an HTTP request that asks the database; a new chat's
``offer``: what a reopening's offer is compared with) and its target; then the memory of waking
many conversations and letting them rest. The plot (``-scale.png``): the latency CDF of the
scenario's paths, and the engine's RSS and live Conversation actors over the run, each phase
shaded. ``python -m benchmarks.load.scale_report FILE`` draws it again from a saved report.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from .plots import _cdf

TARGET_P99_MS = 50.0
TARGET_REOPEN_RATIO = 1.2
# (path, floor path, p99 target in ms or None), in the order of the phases
ROWS = (("open_welcome", "pong", TARGET_P99_MS), ("open_history", "pong", TARGET_P99_MS),
        ("transcript", "healthz", TARGET_P99_MS), ("account_welcome", "pong", TARGET_P99_MS),
        ("my_conversations", "healthz", TARGET_P99_MS), ("signin_code", "healthz", TARGET_P99_MS),
        ("signin_login", "healthz", TARGET_P99_MS), ("reopen_hello", "pong", None), ("reopen_ack", None, None),
        ("reopen_offer", "offer", None), ("offer", None, None), ("wake", "pong", None))
CDF_PATHS = ("open_welcome", "open_history", "transcript", "account_welcome", "my_conversations",
             "signin_login", "reopen_offer", "offer", "wake", "pong", "healthz")
PHASE_COLOURS = {"open": "tab:blue", "accounts": "tab:green", "signin": "tab:olive", "reopen": "tab:orange",
                 "wake": "tab:red"}


def _f(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x)


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per measured path: p50 / p99 / p99.9, its floor's p50 and the ratio, the target."""
    engine = report["targets"]["engine"]
    paths, extra = engine["paths"], engine["extra"]
    out = []
    for path, floor, target in ROWS:
        s = paths.get(path)
        if not s or not s.get("count"):
            continue
        f = paths.get(floor or "") or {}
        ratio = s["p50_ms"] / f["p50_ms"] if f.get("p50_ms") and s.get("p50_ms") is not None else None
        lost = s.get("timeouts") or 0       # never arrived: no percentile shows them, every target misses
        if path == "reopen_offer":
            met = None if ratio is None else ratio <= TARGET_REOPEN_RATIO and not lost
            goal = f"p50 ≤ {TARGET_REOPEN_RATIO:g} × new{_mark(met)}"
        elif target is not None:
            met = None if s.get("p99_ms") is None else s["p99_ms"] < target and not lost
            goal = f"p99 < {target:g} ms{_mark(met)}"
        else:
            goal = ""
        count = _f(s["count"]) + (f" (+{lost:,} timed out)" if lost else "")
        out.append([s["title"], count, _f(s["p50_ms"], 2), _f(s["p99_ms"], 2), _f(s["p99_9_ms"], 2),
                    f"{floor} {_f(f.get('p50_ms'), 2)}" if floor and f else "", _f(ratio, 2), goal])
    for name, key in (("GET /api/customers/me/conversations", "my_conversations_http"),
                      ("sign-in by code", "sign_in")):
        if extra.get(key) not in (None, "served"):
            out.append([name, "-", "-", "-", "-", "", "", str(extra[key])])
    return out


def show_scale(report: dict[str, Any], stem: Path, plots: bool) -> list[Path]:
    """Print the scenario's table and memory figures; draw its plot. Returns the files written."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    extra = report["targets"]["engine"]["extra"]
    table = Table(title=f"scale: {extra.get('seed_conversations'):,} resting conversations of "
                        f"{extra.get('seed_customers'):,} customers — each path beside its floor (same run)")
    for i, h in enumerate(["path", "count", "p50 ms", "p99 ms", "p99.9 ms", "floor p50 ms", "÷ floor", "target"]):
        table.add_column(h, justify="left" if i in (0, 5, 7) else "right")
    for row in rows(report):
        table.add_row(*row)
    console.print(table)
    console.print(
        f"memory: engine RSS {_f(extra.get('rss_at_start_mib'))} MiB at start; waking "
        f"{_f(extra.get('woken'))} resting conversations at once: {_f(extra.get('rss_before_mib'))} → "
        f"{_f(extra.get('rss_awake_mib'))} → {_f(extra.get('rss_after_mib'))} MiB "
        f"(after ÷ before ×{_f(extra.get('rss_after_over_before'), 3)}; {_f(extra.get('kib_per_woken'))} KiB per "
        f"woken conversation with its socket); after {_f(extra.get('wake_rounds'))} rounds "
        f"{_f(extra.get('rss_after_last_round_mib'))} MiB (last ÷ first round ×"
        f"{_f(extra.get('rss_last_round_over_first'), 3)}); live Conversation actors "
        f"{_f(extra.get('live_conversations_before'))} → {_f(extra.get('live_conversations_awake'))} → "
        f"{_f(extra.get('live_conversations_after'))}, all gone {_f(extra.get('rest_s'), 2)} s after the sockets "
        "closed")
    phases = [k.removeprefix("engine_cpu_pct_") for k in extra if k.startswith("engine_cpu_pct_")]
    console.print("engine CPU % of its core (waiting for a CPU %; the generator waiting %) by phase: " + ", ".join(
        f"{p} {_f(extra.get(f'engine_cpu_pct_{p}'))} ({_f(extra.get(f'engine_waits_pct_{p}'))}; "
        f"{_f(extra.get(f'generator_waits_pct_{p}'))})" for p in phases))
    console.print(f"reopen phase: {_f(extra.get('reopenings'))} reopenings, {_f(extra.get('new_chats'))} new chats; "
                  f"commits {_f(extra.get('reopen_commits_per_s'))}/s of "
                  f"{_f(extra.get('reopen_commit_ms_mean'), 2)} ms and {_f(extra.get('reopen_writes_per_commit'))} "
                  f"writes; a new chat's POST {_f(extra.get('reopen_chat_start_ms_mean'), 2)} ms inside the engine")
    if not plots:
        return []
    try:
        return [plot_scale(report, stem)]
    except ImportError as exc:
        print(f"no scale plot ({exc}); pip install matplotlib")
        return []


def plot_scale(report: dict[str, Any], stem: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engine = report["targets"]["engine"]
    fig, (cdf, mem) = plt.subplots(2, 1, figsize=(9, 9))
    for path in CDF_PATHS:
        s = engine["paths"].get(path)
        if s and "hdr_encoded" in s:
            xs, ys = _cdf(s["hdr_encoded"])
            floor = path in ("pong", "healthz")
            cdf.step(xs, ys, where="post", linestyle=":" if floor else "-", label=s["title"])
    cdf.axvline(TARGET_P99_MS, color="grey", linewidth=0.8, linestyle="--")
    cdf.set_xscale("log")
    cdf.set_xlabel("latency (ms, log scale); dashed line: the 50-ms target of p99")
    cdf.set_ylabel("fraction of samples ≤ latency")
    cdf.set_ylim(0, 1.005)
    cdf.grid(True, which="both", alpha=0.3)
    cdf.legend(fontsize=7, loc="lower right")
    cdf.set_title(f"scale — latency CDF ({engine['extra'].get('seed_conversations'):,} resting conversations)")

    # from the first phase on: the agents' sign-in before it (argon2, 64 MiB a verification) is no phase's
    first = min((seg["start_s"] for seg in report["segments"]), default=0.0)
    rss = [r for r in report.get("resource_series", {}).get("engine", []) if r["t"] >= first]
    if rss:
        mem.plot([r["t"] for r in rss], [r["rss_mib"] for r in rss], color="tab:blue", label="engine RSS (MiB)")
    mem.set_ylabel("engine RSS (MiB)")
    actors = mem.twinx()
    ts, ns = [], []
    for seg in report["segments"]:
        for t, n in seg.get("live_conversation_actors", []):
            ts.append(t)
            ns.append(n)
        colour = PHASE_COLOURS.get(seg.get("label", ""), "tab:grey")
        mem.axvspan(seg["start_s"], seg["end_s"], alpha=0.08, color=colour)
        mem.text(seg["start_s"], 0.02, f" {seg.get('label', '')}", transform=mem.get_xaxis_transform(), fontsize=7,
                 va="bottom", color=colour)
    if ts:
        actors.plot(ts, ns, color="tab:red", linestyle="--", label="live Conversation actors")
    actors.set_ylabel("live Conversation actors")
    mem.set_xlabel("time since the start of the run (s); shaded: the phases")
    mem.grid(True, alpha=0.3)
    handles = mem.get_legend_handles_labels()[0] + actors.get_legend_handles_labels()[0]
    if handles:
        mem.legend(handles=handles, fontsize=7, loc="upper left")
    mem.set_title("engine memory and live Conversation actors")
    out = stem.with_name(stem.name + "-scale.png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        print(f"wrote {plot_scale(json.loads(path.read_text()), path.with_suffix(''))}")
