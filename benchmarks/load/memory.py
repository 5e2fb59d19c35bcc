"""How a server's memory moved over a run, from the sampler's RSS series: where it stood when the
warm-up ended, where it ended, and around a flood (``flood.py``) where it stood before, how high it
went and where it settled.

The warm-up ends where the first measured window starts, and the run ends where the last one
ends; a sample is taken once a second, so each figure is the sample nearest inside the window.
Growth is in percent of the RSS at the end of the warm-up (of the RSS just before the flood, for
the flood's own figures). Pure: it reads a report's series and times, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SETTLED_AFTER_S = 5.0       # the flood's peak is looked for until this long after its chat ended


def _pct(now: float, before: float) -> float | None:
    return round((now - before) / before * 100, 1) if before > 0 else None


def memory_figures(samples: Sequence[dict[str, float]], windows: Sequence[tuple[float, float]],
                   flood: dict[str, Any] | None = None) -> dict[str, Any]:
    """``samples``: one process's series (``t`` and ``rss_mib``, ``t`` relative to the run's start);
    ``windows``: its measured windows, relative alike; ``flood``: the flood's figures with
    ``started_s`` and ``ended_s``. Empty when no sample falls inside the windows."""
    if not windows:
        return {}
    start, end = windows[0][0], windows[-1][1]
    inside = [s for s in samples if start <= s["t"] <= end]
    if not inside:
        return {}
    first, last = inside[0]["rss_mib"], inside[-1]["rss_mib"]
    out: dict[str, Any] = {
        "rss_mib_warmup_end": round(first, 1), "rss_mib_end": round(last, 1),
        "rss_mib_max": round(max(s["rss_mib"] for s in inside), 1), "growth_pct": _pct(last, first),
        "from_s": round(inside[0]["t"], 1), "to_s": round(inside[-1]["t"], 1)}
    if flood and "started_s" in flood and "ended_s" in flood:
        before = [s for s in samples if s["t"] <= flood["started_s"]]
        during = [s for s in samples if flood["started_s"] <= s["t"] <= flood["ended_s"] + SETTLED_AFTER_S]
        if before and during:
            rss_before = before[-1]["rss_mib"]
            out["flood"] = {"rss_mib_before": round(rss_before, 1),
                            "rss_mib_peak": round(max(s["rss_mib"] for s in during), 1),
                            "rss_mib_end": round(last, 1), "growth_pct": _pct(last, rss_before),
                            "settled_for_s": round(inside[-1]["t"] - flood["ended_s"], 1)}
    return out


def describe(figures: dict[str, Any]) -> str:
    """One line of the printed report."""
    if not figures:
        return ""
    line = (f"RSS {figures['rss_mib_warmup_end']:.1f} MiB at the end of the warm-up, {figures['rss_mib_end']:.1f} MiB "
            f"at the end ({_signed(figures['growth_pct'])}), {figures['rss_mib_max']:.1f} MiB at most")
    f = figures.get("flood")
    if f:
        line += (f"; flood: {f['rss_mib_before']:.1f} MiB before, {f['rss_mib_peak']:.1f} at its peak, "
                 f"{f['rss_mib_end']:.1f} {f['settled_for_s']:.0f} s after it ({_signed(f['growth_pct'])})")
    return line


def _signed(pct: float | None) -> str:
    return "-" if pct is None else f"{pct:+.1f} %"
