"""The memory figures of a load report (benchmarks/load/memory.py): RSS where the warm-up ended and
where the run ended, and around a flood, read from the sampler's series."""

from __future__ import annotations

from benchmarks.load.memory import describe, memory_figures


def series(*points: tuple[float, float]) -> list[dict[str, float]]:
    return [{"t": t, "rss_mib": rss} for t, rss in points]


def test_growth_runs_from_the_first_sample_of_the_measured_window_to_its_last() -> None:
    samples = series((5, 300.0), (10, 100.0), (11, 104.0), (20, 150.0), (30, 110.0), (31, 500.0))
    figures = memory_figures(samples, [(10, 30)])
    assert (figures["rss_mib_warmup_end"], figures["rss_mib_end"], figures["rss_mib_max"]) == (100.0, 110.0, 150.0)
    assert figures["growth_pct"] == 10.0
    assert (figures["from_s"], figures["to_s"]) == (10, 30)
    assert "flood" not in figures


def test_with_several_windows_the_warm_up_ends_at_the_first_and_the_run_at_the_last() -> None:
    samples = series((10, 100.0), (15, 90.0), (40, 120.0), (50, 95.0))
    figures = memory_figures(samples, [(10, 15), (40, 50)])
    assert (figures["rss_mib_warmup_end"], figures["rss_mib_end"], figures["growth_pct"]) == (100.0, 95.0, -5.0)


def test_a_flood_is_measured_from_just_before_it_to_the_end_of_the_run() -> None:
    samples = series((10, 100.0), (20, 102.0), (21, 180.0), (24, 240.0), (28, 230.0), (60, 104.0))
    figures = memory_figures(samples, [(10, 60)], {"started_s": 20.5, "ended_s": 25.0})
    assert figures["flood"] == {"rss_mib_before": 102.0, "rss_mib_peak": 240.0, "rss_mib_end": 104.0,
                                "growth_pct": 2.0, "settled_for_s": 35.0}
    assert "flood: 102.0 MiB before, 240.0 at its peak, 104.0 35 s after it (+2.0 %)" in describe(figures)


def test_no_window_or_no_sample_inside_it_gives_no_figures() -> None:
    assert memory_figures(series((1, 100.0)), []) == {}
    assert memory_figures(series((1, 100.0)), [(5, 9)]) == {}
    assert describe({}) == ""
