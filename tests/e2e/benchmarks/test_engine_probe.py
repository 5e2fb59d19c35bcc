"""The engine probes (benchmarks/engine_probe/sitecustomize.py) in a real Python process: the task-step
probe names the tasks that ran and times their steps, the GC probe counts what each collection freed,
the memory probe counts live objects and cyclic garbage by type.
The probes write their figures at exit too, so the program ends without waiting for their thread."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

PROBE_DIR = Path(__file__).resolve().parents[3] / "benchmarks" / "engine_probe"

PROGRAM = """
import gc, trio

async def busy_worker():
    for _ in range(50):
        sum(range(20_000))          # a step of measurable length
        await trio.sleep(0)

async def main():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(busy_worker)
    for _ in range(3):
        a = []; a.append(a); del a  # a cycle for the collector
        gc.collect(0)

trio.run(main)

"""


def _run(tmp_path: Path, **env: str) -> None:
    full_env = {**os.environ, "PYTHONPATH": str(PROBE_DIR), "FD_PROBE_ANY": "1", **env}
    subprocess.run([sys.executable, "-c", PROGRAM], env=full_env, check=True, timeout=60, cwd=tmp_path)


def _written(prefix: Path) -> dict:
    files = glob.glob(f"{prefix}.*.json")
    assert len(files) == 1, files
    return json.loads(Path(files[0]).read_text())


def test_the_step_probe_times_each_task_by_name(tmp_path: Path) -> None:
    _run(tmp_path, FD_STEP_PROBE=str(tmp_path / "steps"))
    per_task = _written(tmp_path / "steps")
    worker = next(v for k, v in per_task.items() if k.endswith("busy_worker"))
    steps, seconds, longest, over_1ms, over_5ms = worker
    assert steps >= 50
    assert 0 < longest <= seconds
    assert over_5ms <= over_1ms <= steps


def test_the_gc_probe_counts_what_each_collection_freed(tmp_path: Path) -> None:
    _run(tmp_path, FD_GC_PROBE=str(tmp_path / "gc"))
    data = _written(tmp_path / "gc")
    assert len(data["collected"]["0"]) == len(data["pauses"]["0"]) >= 3
    assert sum(data["collected"]["0"]) >= 3      # each explicit young collection freed its cycle


MEMORY_PROGRAM = """
import gc

class Kept:
    pass

class Knot:
    def __init__(self):
        self.me = self      # a reference cycle: only the collector frees it

gc.disable()
kept = [Kept() for _ in range(100)]
for _ in range(3):
    Knot()
"""


def test_the_memory_probe_counts_live_objects_and_cyclic_garbage_by_type(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROBE_DIR), "FD_PROBE_ANY": "1", "FD_MEM_PROBE": str(tmp_path / "mem"),
           "FD_MEM_BASELINE_S": "0"}
    subprocess.run([sys.executable, "-c", MEMORY_PROGRAM], env=env, check=True, timeout=60, cwd=tmp_path)
    data = _written(tmp_path / "mem")
    assert dict(data["cyclic_garbage_types"])["Knot"] == 3
    assert dict(data["top_types"])["Kept"] == 100
    assert data["rss_mib"] > 0 and data["series"][-1]["rss_mib"] == data["rss_mib"]
    assert data["pymalloc"]["arenas"] >= 1 and data["pymalloc"]["in_blocks_mib"] > 0
