"""The customers' throttles of engine/edge/throttles.py (code requests, failed sign-ins) on a clock of
the test's own."""

from __future__ import annotations

from dataclasses import replace

import pytest

from frontdesk.core.errors import RateLimited
from frontdesk.engine.edge.throttles import Throttles, Window
from frontdesk.engine.runtime.config import Config, Limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttles(clock: Clock) -> Throttles:
    return replace(Throttles.from_config(Config()),
                   code_requests_per_email=Window(Limit(5, 3600), "codes", clock),
                   customer_signin_per_email=Window(Limit(10, 900), "failures", clock),
                   customer_signin_per_address=Window(Limit(30, 900), "failures", clock))


def test_the_defaults_are_those_of_the_protocol() -> None:
    config = Config()
    assert config.limit_code_requests_per_email == Limit(5, 3600)
    assert config.limit_customer_signin_failures == Limit(10, 900)
    assert config.limit_customer_signin_failures_per_address == Limit(30, 900)


def test_five_codes_an_hour_per_address_whatever_its_case() -> None:
    clock = Clock()
    t = throttles(clock)
    for _ in range(5):
        t.code_request("Cora@example.com")
    with pytest.raises(RateLimited) as refused:
        t.code_request("cora@EXAMPLE.com")
    assert refused.value.retry_after_s == 3600
    t.code_request("other@example.com")
    clock.now += 3600
    t.code_request("cora@example.com")


def test_failed_sign_ins_lock_the_address_and_the_client_address() -> None:
    clock = Clock()
    t = throttles(clock)
    for _ in range(10):
        t.check_customer_signin("cora@example.com", "203.0.113.1")
        t.failed_customer_signin("Cora@example.com", "203.0.113.1")
    with pytest.raises(RateLimited):
        t.check_customer_signin("cora@example.com", "203.0.113.2")   # the address, from anywhere
    for n in range(20):
        t.failed_customer_signin(f"guess{n}@example.com", "203.0.113.1")
    with pytest.raises(RateLimited):
        t.check_customer_signin("new@example.com", "203.0.113.1")    # the client address, for any account
    t.check_customer_signin("new@example.com", "203.0.113.2")
    clock.now += 900
    t.check_customer_signin("cora@example.com", "203.0.113.1")


async def test_customers_failures_are_counted_apart_from_the_staffs() -> None:
    clock = Clock()
    t = throttles(clock)
    for _ in range(10):
        t.failed_customer_signin("same@example.com", "203.0.113.1")
    t.check_signin("same@example.com", "203.0.113.1")


def test_throttling_off_turns_these_off_too() -> None:
    t = Throttles.from_config(Config(rate_limit_per_s=0))
    for _ in range(100):
        t.code_request("cora@example.com")
        t.failed_customer_signin("cora@example.com", "203.0.113.1")
    t.check_customer_signin("cora@example.com", "203.0.113.1")
