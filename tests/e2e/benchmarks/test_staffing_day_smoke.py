"""The simulated staffing day runs end to end (behaviour only, no service-level threshold): a short
day against the real engine and an embedded PostgreSQL, every chat accepted and ended by the
simulated agents, and a report with a measured and a forecast service level per hour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]       # the repository
RUN_TIMEOUT_S = 90


@pytest.mark.timeout(RUN_TIMEOUT_S + 20)
def test_a_short_day_is_handled_and_reported_beside_the_forecast(tmp_path: Path) -> None:
    out = tmp_path / "day.json"
    cmd = [sys.executable, "-m", "benchmarks.staffing_day", "--agents", "3", "--capacity", "2",
           "--hour-seconds", "3", "--profile", "20,20", "--aht", "600", "--target", "120",
           "--tolerance", "100", "--json", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, output
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert report["plan"]["servers"] == 6 and report["plan"]["scale"] == 1200
    assert report["chats"] > 0 and report["accepted"] == report["chats"]
    assert [h["hour"] for h in report["hours"]] == [0, 1]
    counted = report["hours"][1]
    assert counted["chats"] > 0 and counted["aht_s"] is not None
    assert 0 <= counted["measured"] <= 1 and 0 <= counted["forecast"] <= 1
    assert "forecast" in proc.stdout and "OK: within" in proc.stdout
