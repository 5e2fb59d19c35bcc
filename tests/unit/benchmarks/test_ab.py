"""The A/B runner (benchmarks/ab.py) without running anything: the order of its runs and how it
compares them (a pair of real shortened smoke runs: tests/e2e/benchmarks/test_benchmark_smoke.py)."""

from __future__ import annotations

import pytest

from benchmarks import ab


def test_ab_order_alternates_and_pairs_are_compared_run_by_run() -> None:
    assert ab.run_order(["a", "b"], 3) == [(1, "a"), (1, "b"), (2, "b"), (2, "a"), (3, "a"), (3, "b")]
    runs = [{"pair": p, "variant": v, "figures": {"c2a p50 ms": x}}
            for p, v, x in [(1, "a", 10.0), (1, "b", 8.0), (2, "b", 12.0), (2, "a", 11.0), (3, "a", 30.0),
                            (3, "b", 20.0)]]
    b = ab.summarize(["a", "b"], runs)["c2a p50 ms"]["b"]
    assert (b["median"], b["min"], b["max"]) == (12.0, 8.0, 20.0)
    assert b["ratio"] == pytest.approx(12.0 / 11.0)
    assert b["lower_in_pairs"] == [2, 3]
