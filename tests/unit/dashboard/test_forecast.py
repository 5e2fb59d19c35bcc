"""Erlang C and the staffing forecast against textbook values (pure functions)."""

from __future__ import annotations

import math

import pytest

from frontdesk.dashboard import forecast


@pytest.mark.parametrize(("n", "a", "expected"), [
    (1, 0.5, 0.5),          # M/M/1: a chat waits with probability ρ
    (2, 1.0, 1 / 3),        # M/M/2: C = A²/(2 + A)
    (3, 2.0, 4 / 9),        # the classic three-server example
    (11, 10.0, 0.6821),     # 100 calls per half hour, 3-minute handling: 10 Erlangs, 11 agents
    (14, 10.0, 0.1741),
])
def test_erlang_c_matches_textbook_values(n: int, a: float, expected: float) -> None:
    assert forecast.erlang_c(n, a) == pytest.approx(expected, abs=1e-4)


def test_erlang_b_matches_the_closed_form() -> None:
    a, n = 3.0, 4
    closed = (a ** n / math.factorial(n)) / sum(a ** k / math.factorial(k) for k in range(n + 1))
    assert forecast.erlang_b(n, a) == pytest.approx(closed)


def test_overload_means_everyone_waits_and_no_one_is_answered_in_time() -> None:
    assert forecast.erlang_c(10, 10.0) == 1.0
    assert forecast.service_level(10, 12.0, 180, 20) == 0.0
    assert forecast.mean_wait(10, 10.0, 180) == math.inf


def test_no_traffic_needs_nobody_and_meets_any_goal() -> None:
    assert forecast.erlang_c(0, 0.0) == 0.0
    assert forecast.service_level(0, 0.0, 180, 20) == 1.0
    assert forecast.agents_needed(0, 180, 20, 0.8, 1) == 0


def test_service_level_of_the_half_hour_example() -> None:
    # 10 Erlangs, 3-minute handling, answered within 20 s: 13 agents reach 79.6 %, 14 agents 88.8 %
    assert forecast.service_level(13, 10.0, 180, 20) == pytest.approx(0.7956, abs=1e-4)
    assert forecast.service_level(14, 10.0, 180, 20) == pytest.approx(0.8884, abs=1e-4)
    assert forecast.agents_needed(200, 180, 20, 0.8, 1) == 14


def test_mean_wait_is_the_probability_of_waiting_times_aht_over_the_spare_servers() -> None:
    assert forecast.mean_wait(14, 10.0, 180) == pytest.approx(0.1741 * 180 / 4, abs=0.01)


def test_capacity_turns_each_agent_into_that_many_servers() -> None:
    # the same 10 Erlangs served by agents of three chats each: 14 servers → 5 agents (15 servers)
    assert forecast.agents_needed(200, 180, 20, 0.8, 3) == 5
    h = forecast.hour(200, 180, 20, 0.8, 3, agents_present=4.5)
    assert h.erlangs == pytest.approx(10.0)
    assert h.agents_needed == 5 and h.service_level_needed == pytest.approx(forecast.service_level(15, 10, 180, 20))
    # 4.5 agents of capacity 3 cover 13 whole slots
    assert h.service_level_present == pytest.approx(forecast.service_level(13, 10, 180, 20))


def test_invalid_inputs_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="capacity"):
        forecast.agents_needed(10, 60, 20, 0.8, 0)
    with pytest.raises(ValueError, match="goal"):
        forecast.agents_needed(10, 60, 20, 1.0, 1)
