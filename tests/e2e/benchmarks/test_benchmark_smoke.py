"""The load generator runs end to end (issue 6): behaviour only, never timing thresholds.

Runs ``python -m benchmarks.load --scenario smoke`` (shortened) with the bare-relay baseline as
a subprocess — its own throw-away PostgreSQL, the engine and the relay as pinned subprocesses —
and checks that it exits 0, wrote a JSON report with latency samples on every path and not a
single error or timeout, and drew its plots. The A/B runner (``python -m benchmarks.ab``) runs
two variants of the engine, a pair of shortened smoke runs, and writes their comparison (its
order and comparison alone: tests/unit/benchmarks/test_ab.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]       # the repository
RUN_TIMEOUT_S = 100


@pytest.mark.timeout(RUN_TIMEOUT_S + 20)
def test_smoke_scenario_writes_a_report_with_samples_and_no_errors(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "benchmarks.load", "--scenario", "smoke", "--duration", "4", "--warmup", "1",
           "--vs-baseline", "--progress", "off", "--out-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, output

    reports = list(tmp_path.glob("load-smoke-*.json"))
    assert len(reports) == 1, output
    report = json.loads(reports[0].read_text())
    assert report["ok"] is True
    assert report["errors_total"] == 0, report["targets"]["engine"]["errors"]
    engine, relay = report["targets"]["engine"], report["targets"]["relay"]
    for path in ("c2a", "a2c", "ack", "agent_ack", "offer", "accept", "create", "connect"):
        assert engine["paths"][path]["count"] > 0, path
        assert engine["paths"][path]["timeouts"] == 0, path
    for path in ("c2a", "a2c"):
        assert relay["paths"][path]["count"] > 0, path
    assert engine["errors"] == {} and relay["errors"] == {}
    assert isinstance(engine["generator_bound"], bool) and isinstance(relay["generator_bound"], bool)
    assert "durable_ack_throughput" in report["ratios"]
    assert report["cpu_placement"]["postgres_policy"] == "SCHED_BATCH"     # as the engine's embedded one
    segments = report["segment_figures"]       # each measured segment on its own: relay, then engine
    assert [s["target"] for s in segments] == ["relay", "engine"], segments
    assert all(s["msgs_per_s"] > 0 and s["c2a_p50_ms"] > 0 for s in segments), segments
    assert len(list(tmp_path.glob("load-smoke-*.png"))) >= 2, output     # the CDF and the timeline


@pytest.mark.timeout(RUN_TIMEOUT_S + 20)
def test_a_flood_in_a_run_is_acked_and_the_report_gives_memory_around_it(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "benchmarks.load", "--scenario", "smoke", "--duration", "4", "--warmup", "1",
           "--flood-messages", "20", "--flood-chars", "2000", "--progress", "off", "--out-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, output

    (report_file,) = tmp_path.glob("load-smoke-*.json")
    report = json.loads(report_file.read_text())
    assert report["ok"] is True
    engine = report["targets"]["engine"]
    flood = engine["extra"]["flood"]
    assert (flood["messages"], flood["chars"], flood["acked"]) == (20, 2000, 20)
    assert flood["started_s"] <= flood["sending_s"] <= flood["sent_s"] <= flood["ended_s"]
    memory = engine["memory"]
    assert memory["rss_mib_warmup_end"] > 0 and memory["rss_mib_end"] > 0
    assert memory["flood"]["rss_mib_before"] <= memory["flood"]["rss_mib_peak"]
    assert "engine memory: RSS" in proc.stdout and "flood:" in proc.stdout
    assert len(list(tmp_path.glob("load-smoke-*-resources.png"))) == 1, output


@pytest.mark.timeout(2 * RUN_TIMEOUT_S + 20)
def test_ab_runs_each_variant_in_turn_and_compares_them_pair_by_pair(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "benchmarks.ab", "--variant", "before=", "--variant", "after=",
           "--variant-env", "after:FD_NOTHING=1", "--variant-args", "after:--pg-sched-normal --no-warm-wal",
           "--generator-from", f"after:{ROOT}",
           "--pairs", "1", "--name", "t", "--out-dir", str(tmp_path),
           "--", "--scenario", "smoke", "--duration", "2", "--warmup", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=2 * RUN_TIMEOUT_S)
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, output

    (summary_file,) = tmp_path.glob("ab-t-*.json")
    summary = json.loads(summary_file.read_text())
    assert [(r["pair"], r["variant"]) for r in summary["runs"]] == [(1, "before"), (1, "after")]
    assert summary["variant_env"] == {"before": [], "after": ["FD_NOTHING=1"]}
    assert summary["variant_args"] == {"before": [], "after": ["--pg-sched-normal", "--no-warm-wal"]}
    assert summary["generator_from"] == {"before": str(ROOT), "after": str(ROOT)}
    c2a = summary["summary"]["c2a p50 ms"]
    assert c2a["before"]["median"] > 0 and c2a["after"]["median"] > 0
    assert c2a["after"]["ratio"] == pytest.approx(c2a["after"]["median"] / c2a["before"]["median"])
    assert c2a["after"]["lower_in_pairs"][1] == 1
    assert "c2a p50 ms" in proc.stdout and "after ÷ before" in proc.stdout
