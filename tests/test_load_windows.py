"""The load generator's measured windows (benchmarks/load/stats.py): a window whose work ended
early is measured over the time it took (a burst that finished before its deadline)."""

from __future__ import annotations

from benchmarks.load.stats import Recorder


def test_a_window_closed_early_ends_where_the_work_ended_and_never_grows() -> None:
    rec = Recorder("engine", origin=0.0)
    rec.open_window(10.0, 20.0)
    assert rec.in_window(15.0)
    rec.close_window(25.0)                  # later than its end: unchanged
    rec.close_window(5.0)                   # before its start: unchanged
    assert rec.windows == [(10.0, 20.0)] and rec.measured_s == 10.0
    rec.close_window(14.0)
    assert rec.windows == [(10.0, 14.0)] and rec.measured_s == 4.0
    assert rec.in_window(13.9) and not rec.in_window(15.0)
    rec.open_window(30.0, 40.0)             # only the current window is closed early
    rec.close_window(32.5)
    assert rec.windows == [(10.0, 14.0), (30.0, 32.5)] and rec.measured_s == 6.5
