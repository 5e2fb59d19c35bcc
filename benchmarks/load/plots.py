"""PNG plots of a report: latency CDF per path, and throughput and p99 over time (matplotlib, Agg).

Nothing here reads the raw samples: the CDF comes from each path's HDR histogram (encoded in the
report), so a saved JSON can be plotted again later (``python -m benchmarks.load.plots FILE``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from .memory import describe

CDF_PATHS = ("c2a", "a2c", "ack", "agent_ack", "offer", "accept", "create", "connect")
STYLE = {"engine": "-", "relay": "--"}


def _cdf(encoded: str) -> tuple[list[float], list[float]]:
    hist = HdrHistogram.decode(encoded.encode())
    total = hist.get_total_count()
    xs, ys = [], []
    seen = 0
    for item in hist.get_recorded_iterator():
        seen += item.count_at_value_iterated_to
        xs.append(item.value_iterated_to / 1000)
        ys.append(seen / total)
    return xs, ys


def _series(ax: Any, ts: list[int], ys: list[float], style: str, label: str) -> None:
    """One line per second, drawn only when it has anything to show (a burst has no messages)."""
    if any(ys):
        ax.plot(ts, ys, style, label=label)


def plot(report: dict[str, Any], stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for target, t in report["targets"].items():
        for path in CDF_PATHS:
            s = t["paths"].get(path)
            if not s or "hdr_encoded" not in s:
                continue
            xs, ys = _cdf(s["hdr_encoded"])
            ax.step(xs, ys, where="post", linestyle=STYLE.get(target, "-"), label=f"{target}: {s['title']}")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of samples ≤ latency")
    ax.set_ylim(0, 1.005)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"latency CDF — {report['scenario']}")
    out = stem.with_name(stem.name + "-cdf.png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    written.append(out)

    fig, (top, mid, bottom) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    for target, t in report["targets"].items():
        rows = t["timeline"]
        if not rows:
            continue
        ts = [r["t"] for r in rows]
        style = STYLE.get(target, "-")
        _series(top, ts, [r["msgs"] for r in rows], style, f"{target} msgs/s delivered")
        if target == "engine":
            _series(top, ts, [r["acks"] for r in rows], ":", "engine acks/s")
            _series(top, ts, [r.get("chats", 0) for r in rows], "-.", "engine chats created/s")
            _series(top, ts, [r.get("offers", 0) for r in rows], "--", "engine offers/s")
            _series(top, ts, [r.get("accepts", 0) for r in rows], ":", "engine accepts/s")
        _series(mid, ts, [r["connects"] for r in rows], style, f"{target} connects/s")
        for path in ("c2a", "a2c", "offer"):
            ys = [math.nan if r.get(f"p99_{path}_ms") is None else r[f"p99_{path}_ms"] for r in rows]
            if any(not math.isnan(y) for y in ys):   # NaN breaks the line where that second had no arrival
                bottom.plot(ts, ys, style, label=f"{target} p99 {path}")
    for seg in report["segments"]:
        for ax_ in (top, mid, bottom):
            ax_.axvspan(seg["measure_from_s"], seg["measure_to_s"], alpha=0.06,
                        color="tab:blue" if seg["target"] == "engine" else "tab:orange")
    top.set_ylabel("per second")
    mid.set_ylabel("per second")
    bottom.set_ylabel("p99 per second (ms)")
    bottom.set_yscale("log")
    bottom.set_xlabel("time since the start of the run (s); shaded: measured windows (blue engine, orange relay)")
    for ax_ in (top, mid, bottom):
        ax_.grid(True, alpha=0.3)
        if ax_.get_legend_handles_labels()[1]:
            ax_.legend(fontsize=7, loc="upper left")
        else:                               # e.g. no messages in a burst: say so rather than show an empty legend
            ax_.text(0.5, 0.5, "nothing of this kind in this scenario", transform=ax_.transAxes,
                     ha="center", va="center", fontsize=8, alpha=0.6)
    top.set_title(f"throughput and p99 over time — {report['scenario']}")
    out = stem.with_name(stem.name + "-timeline.png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    written.append(out)

    series = report.get("resource_series", {})
    if series:
        fig, (cpu, mem) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
        for name, rows in series.items():
            if rows:
                cpu.plot([r["t"] for r in rows], [r["cpu_pct"] for r in rows], label=name)
                mem.plot([r["t"] for r in rows], [r.get("pss_mib", r["rss_mib"]) for r in rows], label=name)
        for seg in report["segments"]:
            for ax_ in (cpu, mem):
                ax_.axvspan(seg["measure_from_s"], seg["measure_to_s"], alpha=0.06,
                            color="tab:blue" if seg["target"] == "engine" else "tab:orange")
        flood = report["targets"].get("engine", {}).get("extra", {}).get("flood", {})
        if "started_s" in flood and "ended_s" in flood:
            mem.axvspan(flood["started_s"], flood["ended_s"], alpha=0.2, color="tab:red", label="flood")
        cpu.set_ylabel("CPU % of one core")
        mem.set_ylabel("RSS MiB (PostgreSQL: PSS)")
        mem.set_xlabel("time since the start of the run (s); shaded: measured windows (blue engine, orange relay)")
        for ax_ in (cpu, mem):
            ax_.grid(True, alpha=0.3)
            ax_.legend(fontsize=7, loc="upper left")
        cpu.set_title(f"processes — {report['scenario']}")
        memory = report["targets"].get("engine", {}).get("memory", {})
        if memory:
            mem.set_title(f"engine: {describe(memory)}", fontsize=7, wrap=True)
        out = stem.with_name(stem.name + "-resources.png")
        fig.tight_layout()
        fig.savefig(out, dpi=110)
        plt.close(fig)
        written.append(out)
    return written


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        for out in plot(json.loads(path.read_text()), path.with_suffix("")):
            print(f"wrote {out}")
