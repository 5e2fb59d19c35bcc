"""What the load generator measures: latencies per path, arrivals over time, errors by code.

Every latency is recorded twice: as an exact sample (nearest-rank percentiles over all of them,
as ``benchmarks/latency.py`` reports) and in an HDR histogram (``hdrh``, 3 significant digits,
microseconds, encoded into the JSON so runs can be merged later). Times come from one monotonic
clock (``trio.current_time()``) in the generator process.

A message path is tracked from its start (a send, or the time it was SCHEDULED in open loop) to
its arrival, by a token the generator put in the frame. Only starts inside the measurement
window are tracked; an arrival is counted in the per-second timeline whatever its start. A start
that sees no arrival within the timeout counts as a timeout of its path. Set-up paths (a chat
created, offered, accepted, a socket connected) are also recorded only when they START inside the
window, except where a workload says otherwise (agents signing in; the idle scenario's connects).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

HDR_LOWEST_US = 1
HDR_HIGHEST_US = 3_600_000_000      # one hour: anything slower is a hang, not a latency
HDR_DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)

# Paths whose start is a message send (tracked by token, counted as msgs/s when they arrive).
MESSAGE_PATHS = ("c2a", "a2c", "ack", "agent_ack")
PATH_TITLES = {
    "c2a": "customer send → agent message",
    "a2c": "agent send → customer message",
    "ack": "customer send → ack",
    "agent_ack": "agent send → ack",
    "create": "POST /api/chats answered",
    "offer": "chat created → offer",
    "accept": "accept → conversation",
    "connect": "socket connect → welcome",
    "agent_connect": "agent socket connect → welcome",
    "login": "POST /api/agents/login",
    "send_lag": "generator lag behind schedule",
}


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile: an actual sample, exact, no interpolation."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def pct_key(p: float) -> str:
    return f"p{p:g}_ms".replace(".", "_")


@dataclass
class PathStats:
    name: str
    samples_ms: array[float] = field(default_factory=lambda: array("d"))
    timeouts: int = 0
    hist: HdrHistogram = field(default_factory=lambda: HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS))

    def record(self, ms: float) -> None:
        self.samples_ms.append(ms)
        self.hist.record_value(min(HDR_HIGHEST_US, max(HDR_LOWEST_US, round(ms * 1000))))

    def summary(self) -> dict[str, Any]:
        s = sorted(self.samples_ms)
        out: dict[str, Any] = {"title": PATH_TITLES.get(self.name, self.name), "count": len(s),
                               "timeouts": self.timeouts}
        for p in PERCENTILES:
            out[pct_key(p)] = _r(percentile(s, p))
        out["max_ms"] = _r(s[-1] if s else math.nan)
        out["mean_ms"] = _r(sum(s) / len(s) if s else math.nan)
        if s:
            out["hdr"] = {pct_key(p): round(self.hist.get_value_at_percentile(p) / 1000, 3) for p in PERCENTILES}
            out["hdr_encoded"] = self.hist.encode().decode()
        return out


@dataclass
class Second:
    """Arrivals within one second of the run (index = whole seconds since the run's origin)."""

    arrivals: Counter[str] = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


class Recorder:
    """All measurements of one target (the engine, or the bare relay) across its segments."""

    def __init__(self, target: str, origin: float):
        self.target = target
        self.origin = origin
        self.paths: dict[str, PathStats] = {}
        self.pending: dict[str, dict[str, float]] = defaultdict(dict)
        self.errors: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.timeline: dict[int, Second] = defaultdict(Second)
        self.windows: list[tuple[float, float]] = []
        self.window_arrivals: Counter[str] = Counter()
        self._window: tuple[float, float] = (math.inf, math.inf)

    # ---- the measurement window ----------------------------------------------------------

    def open_window(self, start: float, end: float) -> None:
        self._window = (start, end)
        self.windows.append((start, end))

    def close_window(self, end: float) -> None:
        """The work of the current window was over at ``end``: it ends there if that is sooner
        (a burst that finished early is measured over the time it took, not its deadline)."""
        start, old_end = self._window
        if start <= end < old_end:
            self._window = (start, end)
            self.windows[-1] = self._window

    def in_window(self, t: float) -> bool:
        return self._window[0] <= t < self._window[1]

    @property
    def measured_s(self) -> float:
        return sum(end - start for start, end in self.windows)

    # ---- recording -----------------------------------------------------------------------

    def path(self, name: str) -> PathStats:
        stats = self.paths.get(name)
        if stats is None:
            stats = self.paths[name] = PathStats(name)
        return stats

    def expect(self, path: str, token: str, t0: float) -> None:
        """A message started at ``t0`` (sent, or scheduled); tracked only inside the window."""
        if self.in_window(t0):
            self.pending[path][token] = t0

    def arrived(self, path: str, token: str, now: float) -> None:
        second = self.timeline[int(now - self.origin)]
        second.arrivals[path] += 1
        if self.in_window(now):
            self.window_arrivals[path] += 1
        t0 = self.pending[path].pop(token, None)
        if t0 is not None:
            ms = (now - t0) * 1000
            self.path(path).record(ms)
            second.latencies_ms[path].append(ms)

    def event(self, name: str, now: float) -> None:
        """Something to count per second (a connection set up, a chat created)."""
        self.timeline[int(now - self.origin)].arrivals[name] += 1
        if self.in_window(now):
            self.window_arrivals[name] += 1

    def setup(self, path: str, t0: float, now: float, *, always: bool = False) -> None:
        """A set-up step (connect, offer, ...) from ``t0`` to ``now``: counted, and its latency recorded
        when it started inside the window (or ``always``: agents signing in before any window)."""
        if always or self.in_window(t0):
            ms = (now - t0) * 1000
            self.sample(path, ms)
            self.timeline[int(now - self.origin)].latencies_ms[path].append(ms)
        self.event(path, now)

    def sample(self, path: str, ms: float) -> None:
        """A latency that needs no token (set-up paths, generator lag)."""
        self.path(path).record(ms)

    def error(self, key: str, n: int = 1) -> None:
        self.errors[key] += n

    def sweep(self, now: float, timeout_s: float) -> None:
        """Starts older than ``timeout_s`` without an arrival become timeouts of their path."""
        for path, waiting in self.pending.items():
            stale = [token for token, t0 in waiting.items() if now - t0 > timeout_s]
            for token in stale:
                del waiting[token]
            if stale:
                self.path(path).timeouts += len(stale)
                self.errors[f"timeout: {PATH_TITLES.get(path, path)}"] += len(stale)

    def in_flight(self) -> int:
        return sum(len(w) for w in self.pending.values())

    # ---- results -------------------------------------------------------------------------

    def rate_last(self, now: float, paths: tuple[str, ...] = ("c2a", "a2c")) -> float:
        """Arrivals per second of ``paths`` in the last complete second (for the progress line)."""
        second = self.timeline.get(int(now - self.origin) - 1)
        return float(sum(second.arrivals[p] for p in paths)) if second else 0.0

    def p99_last(self, now: float, path: str = "c2a") -> float | None:
        second = self.timeline.get(int(now - self.origin) - 1)
        values = sorted(second.latencies_ms.get(path, [])) if second else []
        return percentile(values, 99) if values else None

    def timeline_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if not self.timeline:
            return rows
        for index in range(min(self.timeline), max(self.timeline) + 1):   # seconds without arrivals count as 0
            second = self.timeline.get(index) or Second()
            row: dict[str, Any] = {"t": index, "msgs": second.arrivals["c2a"] + second.arrivals["a2c"],
                                   "acks": second.arrivals["ack"] + second.arrivals["agent_ack"],
                                   "connects": second.arrivals["connect"], "chats": second.arrivals["chat"],
                                   "offers": second.arrivals["offer"], "accepts": second.arrivals["accept"]}
            for path in ("c2a", "a2c", "ack", "offer"):
                values = sorted(second.latencies_ms.get(path, []))
                row[f"p99_{path}_ms"] = _r(percentile(values, 99)) if values else None
            rows.append(row)
        return rows
