"""The load generator's /proc sampler (benchmarks/load/sampler.py): reading a process's file (a
cluster's children, real processes: tests/e2e/benchmarks/test_load_sampler.py)."""

from __future__ import annotations

import os

from benchmarks.load.sampler import read_proc


def test_read_proc_reads_a_file_and_says_none_for_a_gone_process() -> None:
    assert (read_proc(f"/proc/{os.getpid()}/stat") or "").startswith(f"{os.getpid()} (")
    assert read_proc("/proc/0/stat") is None
