"""The embedded database's CPU policy (engine/storage/embedded.py) on real processes: the
postmaster named in ``postmaster.pid`` and every process it started run as SCHED_BATCH; anything
else is left alone (without a postmaster: tests/unit/engine/storage/test_embedded.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.engine.storage.embedded import children_of, postmaster_pid, schedule_as_batch

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")

# a parent that starts one child, says the child's pid, then waits (stands in for a postmaster)
PARENT = ("import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
          "print(c.pid, flush=True); sys.stdin.read(); c.kill()")


@pytest.fixture
def process_tree() -> Iterator[tuple[int, int]]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdin is not None
    child = int(parent.stdout.readline())
    try:
        yield parent.pid, child
    finally:
        parent.stdin.close()
        parent.wait(10)


def test_the_postmaster_and_its_children_run_as_batch(tmp_path: Path, process_tree: tuple[int, int]) -> None:
    parent, child = process_tree
    (tmp_path / "postmaster.pid").write_text(f"{parent}\n{tmp_path}\n1700000000\n5432\n")
    assert postmaster_pid(tmp_path) == parent
    assert children_of(parent) == [child]
    assert schedule_as_batch(tmp_path) == 2
    assert os.sched_getscheduler(parent) == os.SCHED_BATCH
    assert os.sched_getscheduler(child) == os.SCHED_BATCH
    assert os.sched_getscheduler(0) == os.SCHED_OTHER       # the caller keeps its own policy
