"""CPU and memory of the processes under test, sampled from ``/proc`` once a second.

Groups: ``engine`` (the engine's pid), ``relay`` (the bare relay's pid), ``postgres`` (the
postmaster of our throw-away cluster and every process whose parent it is: backends,
checkpointer, walwriter, ...) and ``generator`` (this process). CPU is in percent of one core
(100 = one core busy), from utime + stime of ``/proc/<pid>/stat`` (all threads). Memory is RSS
from ``/proc/<pid>/statm``; for PostgreSQL, whose processes share their buffers, the sum of RSS
counts shared pages once per process, so PSS (``smaps_rollup``) is recorded as well.

``runq_wait_pct`` is the time the group's threads were ready to run but waited for a CPU
(``/proc/<pid>/task/*/schedstat``), in percent of wall time: on a machine shared with other work
it says how much of a latency is someone else's.

A process that ends between two samples loses its last partial second of CPU; a group whose
pid is gone simply stops being sampled.

The reading runs in a worker thread, because finding PostgreSQL's children scans every process of
the machine (≈ 5 ms on this host) and in the generator's own event loop would delay every frame it
is timing. The scan still holds the interpreter lock, so the children are looked for every 5 s (or
when one has gone; a new backend's first seconds are missed, an ended one's last second always
is), and files are read with ``os.read`` rather than ``pathlib``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

SAMPLE_EVERY_S = 1.0
CHILDREN_EVERY_S = 5.0      # a cluster's children are looked for again after this (a scan reads every process)
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def read_proc(path: str) -> str | None:
    """A small /proc file's text, or None when it is gone; os-level, as it runs dozens of times a second."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 65536).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def cpu_ticks(pid: int) -> int | None:
    raw = read_proc(f"/proc/{pid}/stat")
    if raw is None:
        return None
    fields = raw[raw.rindex(")") + 2:].split()   # after "pid (comm) ": state is fields[0]
    return int(fields[11]) + int(fields[12])      # utime, stime


def runq_wait_ns(pid: int) -> int:
    """Nanoseconds all threads of ``pid`` spent runnable but waiting for a CPU (0 if unknown)."""
    total = 0
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            try:
                total += int((read_proc(task.path + "/schedstat") or "").split()[1])
            except (IndexError, ValueError):
                continue
    except OSError:
        return 0
    return total


def parent_of(pid: int) -> int | None:
    raw = read_proc(f"/proc/{pid}/stat")
    if raw is None:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[1])


def rss_bytes(pid: int) -> int | None:
    try:
        return int((read_proc(f"/proc/{pid}/statm") or "").split()[1]) * _PAGE
    except (IndexError, ValueError):
        return None


def pss_bytes(pid: int) -> int | None:
    try:
        for line in (read_proc(f"/proc/{pid}/smaps_rollup") or "").splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except ValueError:
        return None
    return None


def children_of(parent: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and parent_of(int(entry.name)) == parent:
            out.append(int(entry.name))
    return out


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Group:
    """One process (``pid``) or a cluster (``pid`` and its children, when ``with_children``)."""

    name: str
    pid: int
    with_children: bool = False
    samples: list[dict[str, float]] = field(default_factory=list)
    _last: dict[int, int] = field(default_factory=dict)
    _last_wait: dict[int, int] = field(default_factory=dict)
    _last_t: float | None = None
    _children: list[int] = field(default_factory=list)
    _children_at: float | None = None

    def pids(self, now: float) -> list[int]:
        """The process, and its children as last looked for (again every CHILDREN_EVERY_S, or
        as soon as one has gone): a scan reads every process of the machine."""
        if not self.with_children:
            return [self.pid]
        if self._children_at is None or now - self._children_at >= CHILDREN_EVERY_S:
            self._children, self._children_at = children_of(self.pid), now
        return [self.pid, *self._children]

    def sample(self, now: float) -> None:
        ticks: dict[int, int] = {}
        waits: dict[int, int] = {}
        rss = pss = 0
        for pid in self.pids(now):
            t = cpu_ticks(pid)
            if t is None:
                self._children_at = None        # a child has gone: look again next time
                continue
            ticks[pid] = t
            waits[pid] = runq_wait_ns(pid)
            rss += rss_bytes(pid) or 0
            if self.with_children:
                pss += pss_bytes(pid) or 0
        if not ticks:
            return
        if self._last_t is not None and now > self._last_t:
            dt = now - self._last_t
            used = sum(t - self._last.get(pid, t) for pid, t in ticks.items())
            # a thread that ended takes its wait time with it: a negative step is not a negative wait
            waited = max(0, sum(w - self._last_wait.get(pid, w) for pid, w in waits.items()))
            row = {"t": now, "cpu_pct": used / _TICKS / dt * 100, "runq_wait_pct": waited / 1e9 / dt * 100,
                   "rss_mib": rss / 2**20, "processes": float(len(ticks))}
            if self.with_children:
                row["pss_mib"] = pss / 2**20
            self.samples.append(row)
        self._last, self._last_wait, self._last_t = ticks, waits, now

    def summary(self, windows: list[tuple[float, float]]) -> dict[str, Any]:
        rows = [s for s in self.samples if any(start <= s["t"] <= end for start, end in windows)]
        if not rows:
            return {}
        cpu = [s["cpu_pct"] for s in rows]
        out = {"cpu_pct_mean": round(sum(cpu) / len(cpu), 1), "cpu_pct_max": round(max(cpu), 1),
               "runq_wait_pct_mean": round(sum(s["runq_wait_pct"] for s in rows) / len(rows), 1),
               "rss_mib_max": round(max(s["rss_mib"] for s in rows), 1),
               "rss_mib_last": round(rows[-1]["rss_mib"], 1), "samples": len(rows)}
        if "pss_mib" in rows[-1]:
            out["pss_mib_max"] = round(max(s.get("pss_mib", 0.0) for s in rows), 1)
            out["processes_max"] = int(max(s["processes"] for s in rows))
        return out


class Sampler:
    """Samples every group once a second until cancelled."""

    def __init__(self, origin: float, clock: Callable[[], float] = trio.current_time):
        self.groups: dict[str, Group] = {}
        self.origin = origin
        self._clock = clock
        self._lock = threading.Lock()

    def add(self, name: str, pid: int | None, with_children: bool = False) -> None:
        if pid is not None:
            self.groups[name] = Group(name, pid, with_children)

    def sample_now(self) -> None:
        self._sample_at(self._clock())

    def _sample_at(self, now: float) -> None:
        with self._lock:        # the periodic sample (a thread) and a window's edge (trio) may meet
            for group in self.groups.values():
                group.sample(now)

    async def run(self) -> None:
        while True:
            # the time is read here (trio's clock), the /proc files in a thread
            await trio.to_thread.run_sync(self._sample_at, self._clock())
            await trio.sleep(SAMPLE_EVERY_S)

    def latest(self, name: str) -> dict[str, float] | None:
        group = self.groups.get(name)
        return group.samples[-1] if group and group.samples else None

    def summary(self, windows: list[tuple[float, float]]) -> dict[str, Any]:
        """Per group, over the samples taken inside any of ``windows``."""
        return {name: g.summary(windows) for name, g in self.groups.items()}

    def series(self) -> dict[str, list[dict[str, float]]]:
        return {name: [{**s, "t": round(s["t"] - self.origin, 2)} for s in g.samples]
                for name, g in self.groups.items()}
