"""The edge's throttles (engine/edge/throttles.py) on a clock of the test's own."""

from __future__ import annotations

import ipaddress

import pytest

from frontdesk.core.errors import RateLimited
from frontdesk.engine.edge.throttles import MAX_KEYS, Window, client_address
from frontdesk.engine.runtime.config import Config, Limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_refuses_the_event_past_its_limit_and_says_when_to_try_again() -> None:
    clock = Clock()
    window = Window(Limit(3, 60), "tries", clock)
    for _ in range(3):
        window.hit("a")
        clock.now += 10
    with pytest.raises(RateLimited) as refused:
        window.hit("a")
    assert refused.value.code == "rate_limited" and refused.value.retry_after_s == 30
    window.hit("b")                 # another key has its own window
    clock.now += 30                 # the first event leaves the window
    window.hit("a")


def test_a_refused_event_is_not_counted() -> None:
    clock = Clock()
    window = Window(Limit(1, 60), "tries", clock)
    window.hit("a")
    for _ in range(5):
        with pytest.raises(RateLimited):
            window.hit("a")
    clock.now += 60
    window.hit("a")


def test_check_counts_nothing_and_count_needs_no_check() -> None:
    clock = Clock()
    window = Window(Limit(2, 60), "failures", clock)
    for _ in range(10):
        window.check("a")
    window.count("a")
    window.count("a")
    with pytest.raises(RateLimited):
        window.check("a")


def test_a_flood_of_keys_keeps_at_most_max_keys() -> None:
    window = Window(Limit(1, 60), "tries", Clock())
    for i in range(MAX_KEYS + 10):
        window.hit(str(i))
    assert len(window._events) == MAX_KEYS
    window.hit("0")                 # the oldest key was forgotten, so it may act again


def test_limits_come_from_the_environment_and_a_bad_one_names_its_variable() -> None:
    config = Config.from_env({"FRONTDESK_LIMIT_CHATS_PER_ADDRESS": "4/30"})
    assert config.limit_chats_per_address == Limit(4, 30)
    assert config.limit_signin_failures == Limit(10, 900)
    for bad in ("ten/60", "5", "0/60", "5/0"):
        with pytest.raises(ValueError, match="FRONTDESK_LIMIT_SIGNIN_FAILURES"):
            Config.from_env({"FRONTDESK_LIMIT_SIGNIN_FAILURES": bad})


LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


def test_a_trusted_proxys_forwarded_for_names_the_client_and_anyone_elses_is_ignored() -> None:
    assert client_address("127.0.0.1", "203.0.113.7", LOOPBACK) == "203.0.113.7"
    assert client_address("127.0.0.1", "198.51.100.1, 203.0.113.7", LOOPBACK) == "203.0.113.7"   # the last hop
    assert client_address("127.0.0.1", "203.0.113.7, 127.0.0.1", LOOPBACK) == "203.0.113.7"
    assert client_address("198.51.100.9", "203.0.113.7", LOOPBACK) == "198.51.100.9"   # not our proxy
    assert client_address("127.0.0.1", None, LOOPBACK) == "127.0.0.1"
    assert client_address("127.0.0.1", "127.0.0.1", LOOPBACK) == "127.0.0.1"
    assert client_address("127.0.0.1", "not an address", LOOPBACK) == "not an address"
