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


def test_set_up_steps_appear_in_the_per_second_timeline() -> None:
    """A burst has no messages: its timeline shows chats created, offers and accepts per second,
    and the offer latency's p99 per second (plotted by plots.py)."""
    rec = Recorder("engine", origin=100.0)
    rec.open_window(100.0, 110.0)
    rec.event("chat", 100.2)
    rec.setup("offer", 100.1, 100.3)        # 200 ms, in the window: a sample and a timeline point
    rec.setup("offer", 99.0, 101.5)         # started before the window: counted, not sampled
    rec.setup("accept", 101.0, 101.02)
    rows = rec.timeline_rows()
    assert [(r["t"], r["chats"], r["offers"], r["accepts"]) for r in rows] == [(0, 1, 1, 0), (1, 0, 1, 1)]
    assert rows[0]["p99_offer_ms"] == 200.0 and rows[1]["p99_offer_ms"] is None
    assert rec.paths["offer"].summary()["count"] == 1
