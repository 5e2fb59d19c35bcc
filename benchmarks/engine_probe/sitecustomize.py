"""Experiments inside the engine process, switched on from the load generator's command line.

Python imports ``sitecustomize`` at start-up from ``PYTHONPATH``; this one acts only in a
``frontdesk`` process and only for the variables that are set, so it is inert everywhere else::

    python -m benchmarks.load --scenario saturate --engine-env PYTHONPATH=benchmarks/engine_probe \\
        --engine-env FD_GC_PROBE=/tmp/gc [--engine-env FD_GC_MODE=default] \\
        [--engine-env FD_COMMIT_PROBE=/tmp/commits] \\
        [--engine-env FD_ROUND_PROBE=/tmp/rounds] [--engine-env FD_STEP_PROBE=/tmp/steps] \\
        [--engine-env FD_MEM_PROBE=/tmp/mem]

- ``FD_GC_PROBE=PATH``: every collection's pause and the objects it freed, per generation, written to
  ``PATH.<pid>.json`` every 2 s and at exit, as every probe (``gc.callbacks``).
- ``FD_GC_MODE``: ``default`` undoes the engine's GC tuning 6 s after start (``gc.unfreeze()``,
  thresholds 700/10/10: CPython's defaults); ``T0,T1,T2`` freezes and sets
  those thresholds instead.
- ``FD_COMMIT_PROBE=PATH``: every group commit's steps (count, statements, time, the first words
  of each step's SQL, the tables each step writes), written to ``PATH.<pid>.json`` every 2 s.
- ``FD_ROUND_PROBE=PATH``: trio's scheduler rounds (a ``trio.abc.Instrument``): for each round
  of task steps between two waits for I/O, its length and its number of task steps; and each
  wait for I/O; as histograms of 0.1-ms bins, written to ``PATH.<pid>.json`` every 2 s. A task
  woken in a round runs in the next one at the earliest, so a round's length is what every hop
  between actors may wait.

- ``FD_STEP_PROBE=PATH``: every task step timed per task name (steps, seconds, the longest, how
  many over 1 and over 5 ms), written to ``PATH.<pid>.json`` every 2 s: which actor's steps hold
  the others up.

- ``FD_MEM_PROBE=PATH``: what the heap holds, written to ``PATH.<pid>.json`` every
  ``FD_MEM_EVERY_S`` seconds (10) and at exit: RSS, Python's small-object allocator (arenas, bytes
  in live and in free blocks), the C heap (glibc's in use, free but kept, mapped), the objects the
  collector tracks counted by type, and how each type's count grew since a baseline taken
  ``FD_MEM_BASELINE_S`` (30) seconds after start. Each count follows a collection of every
  generation, so garbage the thresholds have not reached yet is not taken for a leak, and what
  that collection freed (objects in reference cycles, which only a full collection frees and
  which therefore pile up between two of them) is counted by type too. With ``FD_MEM_TRACE=N``
  it also runs ``tracemalloc`` (N frames per allocation) and lists the allocation sites that grew
  most since the baseline. The collections and ``tracemalloc`` cost the engine CPU, so other
  figures of such a run are not comparable.

``FD_PROBE_ANY=1`` lets the probes act in any Python process (e.g. the load generator itself, with
``PYTHONPATH=benchmarks/engine_probe FD_PROBE_ANY=1 FD_ROUND_PROBE=... python -m benchmarks.load``).

None of this is for production: it measures what a change to the engine would bring before
anyone makes it.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_IN_ENGINE = "frontdesk" in " ".join(sys.argv) or bool(os.environ.get("FD_PROBE_ANY"))
_AFTER_START_S = 6.0
_WRITE_EVERY_S = 2.0


def _write_every(path: str, name: str, snapshot: Callable[[], Any], first_wait_s: float = 0.0,
                 before: Callable[[], None] | None = None) -> None:
    """Write ``snapshot()`` as JSON to ``PATH.<pid>.json`` every 2 s from a thread, and once more at
    exit (the last figures of a process that ends are not lost)."""
    def write() -> None:
        with open(f"{path}.{os.getpid()}.json", "w") as f:
            json.dump(snapshot(), f)

    def loop() -> None:
        if before is not None:
            time.sleep(first_wait_s)
            before()
        while True:
            time.sleep(_WRITE_EVERY_S)
            write()

    atexit.register(write)
    threading.Thread(target=loop, name=name, daemon=True).start()


def _probe_gc(path: str, mode: str) -> None:
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    collected: dict[int, list[int]] = {0: [], 1: [], 2: []}    # objects freed by each collection
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - started[0])
            collected[info["generation"]].append(info["collected"])

    gc.callbacks.append(callback)

    def set_mode() -> None:
        if mode == "default":
            gc.unfreeze()
            gc.set_threshold(700, 10, 10)
        else:
            gc.collect()
            gc.freeze()
            t0, t1, t2 = (int(x) for x in mode.split(","))
            gc.set_threshold(t0, t1, t2)

    _write_every(path, "gc-probe", lambda: {"mode": mode, "threshold": gc.get_threshold(),
                                            "frozen": gc.get_freeze_count(), "pauses": pauses,
                                            "collected": collected},
                 _AFTER_START_S, set_mode if mode else None)


if _IN_ENGINE and os.environ.get("FD_GC_PROBE"):
    _probe_gc(os.environ["FD_GC_PROBE"], os.environ.get("FD_GC_MODE", ""))


_WRITES = re.compile(r"(INSERT INTO|UPDATE|DELETE FROM) \w+")


def _probe_commits(path: str) -> None:
    """Every commit's shape: groups, statements, seconds from the first asyncio step to its end,
    each group as "<count>x <first three words of its SQL>", and each group's writes ("INSERT INTO
    messages + UPDATE conversations": the parts of a joined statement)."""
    import frontdesk.engine.storage.db as _db

    records: list[tuple[int, int, float, list[str], list[str]]] = []
    run_steps = _db._run_steps

    async def probed(conn: Any, steps: Any) -> None:
        started = time.perf_counter()
        await run_steps(conn, steps)
        records.append((len(steps), sum(len(a) for _, a in steps), time.perf_counter() - started,
                        [f"{len(a)}x {' '.join(sql.split()[:3])}" for sql, a in steps],
                        [" + ".join(m.group(0).split(" (")[0] for m in _WRITES.finditer(sql)) for sql, _a in steps]))

    _db._run_steps = probed

    _write_every(path, "commit-probe", lambda: records)


if _IN_ENGINE and os.environ.get("FD_COMMIT_PROBE"):
    _probe_commits(os.environ["FD_COMMIT_PROBE"])


def _probe_rounds(path: str) -> None:
    """Wrap ``trio.run`` so the engine's run loop carries an instrument that times each round."""
    import trio

    # histograms in 0.1-ms bins: rounds (and their task steps), waits for I/O
    rounds: dict[int, list[int]] = {}     # bin -> [rounds, task steps]
    waits: dict[int, int] = {}
    state = {"since": 0.0, "steps": 0}

    class Rounds(trio.abc.Instrument):
        def after_io_wait(self, timeout: float) -> None:
            now = time.perf_counter()
            if state["since"]:
                b = int((now - state["since"]) * 10_000)
                waits[b] = waits.get(b, 0) + 1
            state["since"], state["steps"] = now, 0

        def before_task_step(self, task: Any) -> None:
            state["steps"] += 1

        def before_io_wait(self, timeout: float) -> None:
            now = time.perf_counter()
            if state["since"]:
                entry = rounds.setdefault(int((now - state["since"]) * 10_000), [0, 0])
                entry[0] += 1
                entry[1] += state["steps"]
            state["since"] = now

    run = trio.run

    def run_with_probe(*args: Any, **kwargs: Any) -> Any:
        kwargs["instruments"] = [*kwargs.get("instruments", ()), Rounds()]
        return run(*args, **kwargs)

    trio.run = run_with_probe

    # copies taken in one step each: the event loop's thread adds bins meanwhile
    _write_every(path, "round-probe", lambda: {"rounds": dict(rounds), "waits": dict(waits)})


if _IN_ENGINE and os.environ.get("FD_ROUND_PROBE"):
    _probe_rounds(os.environ["FD_ROUND_PROBE"])


def _probe_steps(path: str) -> None:
    """Wrap ``trio.run`` so every task step is timed, per task name (the function a task runs):
    steps, seconds, the longest, and how many took over 1 and over 5 ms. A long step holds every
    other task of the engine (and every message behind them) for its whole length."""
    import trio

    per_task: dict[str, list[float]] = {}     # name -> [steps, seconds, longest, > 1 ms, > 5 ms]
    state = {"started": 0.0}

    class Steps(trio.abc.Instrument):
        def before_task_step(self, task: Any) -> None:
            state["started"] = time.perf_counter()

        def after_task_step(self, task: Any) -> None:
            took = time.perf_counter() - state["started"]
            entry = per_task.get(task.name)
            if entry is None:
                entry = per_task[task.name] = [0, 0.0, 0.0, 0, 0]
            entry[0] += 1
            entry[1] += took
            if took > entry[2]:
                entry[2] = took
            if took > 0.001:
                entry[3] += 1
                if took > 0.005:
                    entry[4] += 1

    run = trio.run

    def run_with_probe(*args: Any, **kwargs: Any) -> Any:
        kwargs["instruments"] = [*kwargs.get("instruments", ()), Steps()]
        return run(*args, **kwargs)

    trio.run = run_with_probe

    _write_every(path, "step-probe", lambda: {name: list(entry) for name, entry in list(per_task.items())})


if _IN_ENGINE and os.environ.get("FD_STEP_PROBE"):
    _probe_steps(os.environ["FD_STEP_PROBE"])


_MEM_TOP = 40


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _malloc_mib() -> dict[str, float]:
    """The C heap as glibc sees it: in use, free but kept by the process, and mapped on its own."""
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost")]

    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return {}
    mallinfo2.restype = Mallinfo2
    m = mallinfo2()
    return {"in_use_mib": round(m.uordblks / 2**20, 1), "free_kept_mib": round(m.fordblks / 2**20, 1),
            "mapped_mib": round(m.hblkhd / 2**20, 1)}


_PYMALLOC_LINES = {"# arenas allocated current": "arenas", "# bytes in allocated blocks": "in_blocks_mib",
                   "# bytes in available blocks": "free_in_pools_mib"}


def _pymalloc_mib() -> dict[str, float]:
    """Python's small-object allocator: arenas held (1 MiB each), bytes in live blocks, and bytes of
    free blocks in pools that hold live ones too. ``sys._debugmallocstats`` writes to the C stderr,
    which is pointed at a file for the call (a log line written meanwhile goes there too)."""
    import tempfile

    with tempfile.TemporaryFile() as f:
        saved = os.dup(2)
        try:
            os.dup2(f.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode("ascii", "replace")
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        key = _PYMALLOC_LINES.get(name.strip())
        if key is not None:
            number = int(value.strip().replace(",", ""))
            out[key] = number if key == "arenas" else round(number / 2**20, 1)
    return out


def _collect_and_count_garbage() -> tuple[int, Any]:
    """A collection of every generation, with what it freed counted by type: the objects in
    reference cycles, which only such a collection frees, and which pile up between two of them."""
    from collections import Counter

    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        freed = gc.collect()
        cyclic = Counter(type(o).__qualname__ for o in gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(flags)
    return freed, cyclic


def _probe_memory(path: str, baseline_s: float, trace_frames: int, every_s: float) -> None:
    """What the heap holds and how it grew since a baseline: objects by type, the C heap, and (with
    ``trace_frames``) tracemalloc's allocation sites."""
    import tracemalloc
    from collections import Counter

    if trace_frames:
        tracemalloc.start(trace_frames)
    started = time.monotonic()
    baseline: dict[str, Any] = {}
    report: dict[str, Any] = {"series": []}
    lock = threading.Lock()

    def measure() -> None:
        now = round(time.monotonic() - started, 1)
        freed, cyclic = _collect_and_count_garbage()
        counts = Counter(type(o).__qualname__ for o in gc.get_objects())
        if not baseline and now >= baseline_s:
            baseline.update(at=now, counts=counts, rss_mib=round(_rss_mib(), 1),
                            snapshot=tracemalloc.take_snapshot() if trace_frames else None)
        row = {"t": now, "rss_mib": round(_rss_mib(), 1), "objects": sum(counts.values()),
               "python_blocks": sys.getallocatedblocks(), "pymalloc": _pymalloc_mib(), "malloc": _malloc_mib(),
               "freed_by_collection": freed}
        report["series"].append(row)
        report.update(row, cyclic_garbage_types=cyclic.most_common(_MEM_TOP), top_types=counts.most_common(_MEM_TOP))
        if baseline:
            grown = counts.copy()
            grown.subtract(baseline["counts"])
            report.update(baseline_at=baseline["at"], baseline_rss_mib=baseline["rss_mib"],
                          grown_types=[(k, n) for k, n in grown.most_common(_MEM_TOP) if n > 0])
        if baseline.get("snapshot") is not None:
            diff = tracemalloc.take_snapshot().compare_to(baseline["snapshot"], "traceback")
            report["grown_sites"] = [{"kib": round(d.size_diff / 1024, 1), "count": d.count_diff,
                                      "where": [f"{fr.filename}:{fr.lineno}" for fr in d.traceback]}
                                     for d in diff[:_MEM_TOP] if d.size_diff > 0]

    def write() -> None:
        with lock:
            measure()
            with open(f"{path}.{os.getpid()}.json", "w") as f:
                json.dump(report, f, indent=1)

    def loop() -> None:
        while True:
            time.sleep(every_s)
            write()

    atexit.register(write)
    threading.Thread(target=loop, name="memory-probe", daemon=True).start()


if _IN_ENGINE and os.environ.get("FD_MEM_PROBE"):
    _probe_memory(os.environ["FD_MEM_PROBE"], float(os.environ.get("FD_MEM_BASELINE_S", "30")),
                  int(os.environ.get("FD_MEM_TRACE", "0")), float(os.environ.get("FD_MEM_EVERY_S", "10")))
