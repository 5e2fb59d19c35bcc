"""The wait estimate (engine/routing/waiting.py), table-driven without a server: ``estimated_wait_s``
from the queue's recent measured waits, null until there are enough (the ``queued`` events of a
real engine: tests/e2e/routing/test_waiting_info.py).
"""

from __future__ import annotations

import pytest

from frontdesk.engine.routing.waiting import MAX_AGE_S, MIN_SAMPLES, SAMPLES, WaitEstimator, at_position

Sample = tuple[str, float, float, int]  # queue, at, waited_s, entry position


@pytest.mark.parametrize(("samples", "queue", "position", "now", "expected"), [
    pytest.param([], "support", 1, 100.0, None, id="no-data"),
    pytest.param([("support", 10.0, 30.0, 1)] * (MIN_SAMPLES - 1), "support", 1, 20.0, None,
                 id="fewer-than-min-samples"),
    pytest.param([("support", 10.0, 30.0, 1)] * MIN_SAMPLES, "support", 1, 20.0, 30, id="enough-samples"),
    pytest.param([("support", 10.0, 30.0, 1)] * MIN_SAMPLES, "support", 3, 20.0, 90,
                 id="proportional-to-position"),
    pytest.param([("support", 0.0, 10.0, 1), ("support", 0.0, 40.0, 2), ("support", 0.0, 50.0, 2)], "support", 2,
                 1.0, 40, id="seconds-per-place-over-all-samples"),
    pytest.param([("support", 0.0, 30.0, 1)] * MIN_SAMPLES, "support", 1, MAX_AGE_S + 1, None,
                 id="old-samples-ignored"),
    pytest.param([("support", 0.0, 30.0, 1)] * MIN_SAMPLES, "support", 1, MAX_AGE_S, 30,
                 id="samples-exactly-max-age-still-count"),
    pytest.param([("support", 0.0, 999.0, 1)] * 5 + [("support", MAX_AGE_S, 6.0, 1)] * MIN_SAMPLES, "support", 1,
                 MAX_AGE_S + 10, 6, id="only-recent-samples-count"),
    pytest.param([("sales", 10.0, 30.0, 1)] * MIN_SAMPLES, "support", 1, 20.0, None, id="other-queue-no-basis"),
    pytest.param([("sales", 10.0, 30.0, 1)] * MIN_SAMPLES + [("support", 10.0, 2.0, 1)] * MIN_SAMPLES, "support",
                 1, 20.0, 2, id="queues-are-separate"),
    pytest.param([("support", 10.0, 0.0, 1)] * MIN_SAMPLES, "support", 5, 20.0, 0, id="zero-waits-estimate-zero"),
    pytest.param([("support", 10.0, -30.0, 0)] * MIN_SAMPLES + [("support", 10.0, 6.0, 1)] * MIN_SAMPLES,
                 "support", 1, 20.0, 3, id="negative-wait-and-position-clamped"),
    pytest.param([("support", 10.0, 1000.0, 1)] * SAMPLES + [("support", 11.0, 4.0, 1)] * SAMPLES, "support", 1,
                 20.0, 4, id="only-the-newest-samples-kept"),
])
def test_wait_estimate(samples: list[Sample], queue: str, position: int, now: float, expected: int | None) -> None:
    estimator = WaitEstimator()
    for q, at, waited, entry in samples:
        estimator.record(q, at, waited, entry)
    assert estimator.estimate(queue, position, now) == expected


def test_estimate_grows_with_the_position() -> None:
    estimator = WaitEstimator()
    for waited, entry in [(12.0, 1), (25.0, 2), (35.0, 3)]:
        estimator.record("support", 0.0, waited, entry)
    estimates = [estimator.estimate("support", p, 1.0) for p in range(1, 6)]
    assert estimates == [12, 24, 36, 48, 60]
    per_place = estimator.per_place("support", 1.0)       # what a tick takes once for the whole queue
    assert [at_position(per_place, p) for p in range(1, 6)] == estimates
    assert at_position(estimator.per_place("sales", 1.0), 3) is None
