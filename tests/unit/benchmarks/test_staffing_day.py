"""The simulated day's arithmetic: compressed arrivals and the hour-by-hour comparison (pure)."""

from __future__ import annotations

import random

import pytest

from benchmarks.staffing_day import DayPlan, arrivals, compare, planned_forecast
from frontdesk.dashboard import forecast


def test_compression_scales_rates_up_and_times_down_by_one_factor() -> None:
    plan = DayPlan(agents=10, capacity=2, hour_s=30, aht_s=180, target_s=20, profile=(3600, 0, 1800))
    assert plan.scale == 120 and plan.sim_aht_s == 1.5 and plan.sim_target_s == pytest.approx(20 / 120)
    times = arrivals(plan, random.Random(7))
    first = [t for t in times if t < 30]
    # 3,600 an hour compressed 120 times: 120 a second for 30 s, Poisson (±5 sd ≈ ±300)
    assert abs(len(first) - 3600) < 300
    assert not [t for t in times if 30 <= t < 60]
    assert all(60 <= t < 90 for t in times[len(first):])


def test_each_hour_is_compared_with_erlang_c_for_its_measured_load() -> None:
    plan = DayPlan(agents=2, capacity=1, hour_s=10, aht_s=360, target_s=36, profile=(360, 360))
    # hour 1: 10 chats in 10 s, each handled 1 s (1 Erlang on 2 servers); 7 accepted within 0.1 s
    rows = [{"created": 100 + 10 + k, "accepted": 100 + 10 + k + (0.05 if k < 7 else 0.5), "handled_s": 1.0}
            for k in range(10)]
    results, measured, predicted = compare(plan, rows, day_start=100)
    assert results[0].chats == 0 and results[1].chats == 10
    assert results[1].erlangs == pytest.approx(1.0) and results[1].aht_s == pytest.approx(360)  # 1 s × 360
    assert measured == pytest.approx(0.7)
    assert predicted == pytest.approx(forecast.service_level(2, 1.0, 1.0, 0.1))


def test_the_planned_forecast_weights_each_hour_by_its_expected_chats_and_skips_the_warm_up() -> None:
    plan = DayPlan(agents=10, capacity=2, hour_s=30, aht_s=180, target_s=20, profile=(1000, 300, 300))
    flat = forecast.service_level(20, forecast.traffic(300, 180), 180, 20)
    assert planned_forecast(plan) == pytest.approx(flat)        # the warm-up's 1,000 chats count for nothing
    uneven = DayPlan(agents=10, capacity=2, hour_s=30, aht_s=180, target_s=20, profile=(0, 200, 340))
    low = forecast.service_level(20, forecast.traffic(200, 180), 180, 20)
    high = forecast.service_level(20, forecast.traffic(340, 180), 180, 20)
    assert planned_forecast(uneven) == pytest.approx((200 * low + 340 * high) / 540)
