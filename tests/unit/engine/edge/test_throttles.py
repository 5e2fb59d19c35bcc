"""The edge's throttles (engine/edge/throttles.py) on a clock of the test's own: sliding windows,
token buckets per key, an upload's byte budget and one socket's rate limiter."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
import trio

from frontdesk.core.errors import RateLimited
from frontdesk.engine.edge.throttles import (
    MAX_KEYS,
    Buckets,
    RateLimiter,
    Throttles,
    UploadBudget,
    Window,
    client_address,
)
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


# ---- token buckets: frames, messages, upload bytes ------------------------------------------------

def test_a_bucket_gives_its_whole_limit_at_once_then_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = Buckets(Limit(4, 2), clock)
    assert [buckets.take("a") for _ in range(4)] == [0.0] * 4
    assert buckets.take("a") == pytest.approx(0.5)      # 4 per 2 s: one every half second
    assert buckets.take("b") == 0.0                     # another key has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_a_refused_take_takes_nothing_and_what_is_given_back_is_there_again() -> None:
    clock = Clock()
    buckets = Buckets(Limit(100, 100), clock)
    assert buckets.take("a", 70) == 0.0
    assert buckets.take("a", 40) == pytest.approx(10.0)     # 30 left: 10 more take 10 s
    assert buckets.take("a", 30) == 0.0                     # the refused 40 took nothing
    buckets.give_back("a", 500)                             # never more than it holds
    assert buckets.take("a", 100) == 0.0
    assert buckets.wait_s("a", 250) == pytest.approx(100.0)     # more than it holds: until it is full


def test_a_flood_of_keys_keeps_at_most_max_keys_buckets() -> None:
    buckets = Buckets(Limit(1, 60), Clock())
    for i in range(MAX_KEYS + 10):
        assert buckets.take(str(i)) == 0.0
    assert len(buckets._levels) == MAX_KEYS
    assert buckets.take("0") == 0.0     # the oldest key was forgotten: a full bucket again


def bucketed(clock: Clock, **limits: Limit) -> Throttles:
    return Throttles(**{name: Buckets(limit, clock) for name, limit in limits.items()})  # type: ignore[arg-type]


def test_a_token_shares_one_frame_limit_whatever_its_sockets() -> None:
    throttles = bucketed(Clock(), frames_per_token=Limit(3, 1))
    assert all(throttles.frame_of("token a") for _ in range(3))
    assert not throttles.frame_of("token a")
    assert throttles.frame_of("token b")


def test_messages_into_a_conversation_are_limited_per_sender_and_a_refusal_names_the_send() -> None:
    throttles = bucketed(Clock(), messages_per_conversation=Limit(2, 60))
    for n in range(2):
        throttles.message_to("c1", "customer", f"m{n}")
    with pytest.raises(RateLimited) as refused:
        throttles.message_to("c1", "customer", "m2")
    assert (refused.value.code, refused.value.ref, refused.value.retry_after_s) == ("rate_limited", "m2", 30)
    throttles.message_to("c1", "agent-1", "a0")      # a flooding customer does not silence the agent
    throttles.message_to("c2", "customer", "m0")     # nor another conversation


def test_with_throttling_off_nothing_is_limited() -> None:
    throttles = Throttles.from_config(Config(rate_limit_per_s=0))
    assert throttles.frames_per_token is None and throttles.upload_bytes_per_token is None
    for _ in range(1000):
        assert throttles.frame_of("token a")
        throttles.message_to("c1", "customer", None)
    throttles.upload("token a", "c1", 10**12)


async def body(*sizes: int) -> AsyncIterator[bytes]:
    for size in sizes:
        yield b"x" * size


async def read_all(budget: UploadBudget, *sizes: int) -> int:
    return sum([len(chunk) async for chunk in budget.metered(body(*sizes))])


async def test_an_upload_takes_its_bytes_from_its_token_and_its_conversation_as_they_arrive() -> None:
    clock = Clock()
    throttles = bucketed(clock, upload_bytes_per_token=Limit(1000, 100), upload_bytes_per_conversation=Limit(500, 100))
    assert await read_all(throttles.upload("token a", "c1", 300), 100, 200) == 300
    assert await read_all(throttles.upload("token a", None, None), 600) == 600    # an agent's: no conversation
    assert throttles.upload_bytes_per_token is not None and throttles.upload_bytes_per_conversation is not None
    assert throttles.upload_bytes_per_token.wait_s("token a", 100) == 0.0
    assert throttles.upload_bytes_per_token.wait_s("token a", 101) > 0              # 1000 - 300 - 600 left
    assert throttles.upload_bytes_per_conversation.wait_s("c1", 200) == 0.0
    assert throttles.upload_bytes_per_conversation.wait_s("c1", 201) > 0


async def test_an_upload_announced_larger_than_what_is_left_is_refused_before_a_byte_is_read() -> None:
    clock = Clock()
    throttles = bucketed(clock, upload_bytes_per_token=Limit(1000, 100))
    await read_all(throttles.upload("token a", None, 800), 800)
    with pytest.raises(RateLimited) as refused:
        throttles.upload("token a", None, 500)
    assert refused.value.retry_after_s == 30        # 300 more bytes refill in 30 s
    throttles.upload("token a", None, 200)          # what fits is let through


async def test_an_upload_that_passes_its_budget_is_refused_and_takes_nothing() -> None:
    clock = Clock()
    throttles = bucketed(clock, upload_bytes_per_token=Limit(1000, 100), upload_bytes_per_conversation=Limit(500, 100))
    await read_all(throttles.upload("token a", "c1", None), 300)
    budget = throttles.upload("token a", "c1", None)     # no Content-Length: refused once it passes
    with pytest.raises(RateLimited) as refused:
        await read_all(budget, 100, 150)
    assert refused.value.retry_after_s == 10        # the 250 bytes read fit once 50 more have refilled
    assert budget.taken == 0
    await read_all(throttles.upload("token a", "c1", 200), 200)     # what it had taken is there again


async def test_an_upload_that_fails_otherwise_gives_its_bytes_back() -> None:
    throttles = bucketed(Clock(), upload_bytes_per_token=Limit(1000, 100))
    budget = throttles.upload("token a", None, None)
    await read_all(budget, 900)
    budget.give_back()                               # e.g. its type was refused (415)
    await read_all(throttles.upload("token a", None, 1000), 1000)


async def test_a_frame_refused_by_the_tokens_limit_puts_the_socket_over_its_limit_too() -> None:
    limiter = RateLimiter(20, 40)
    now = trio.current_time()
    assert limiter.allow(now) and limiter.over_for(now) == 0.0
    limiter.refused(now)                             # its token is over its limit
    assert limiter.allow(now + 5)                    # the socket's own bucket lets it through...
    assert limiter.over_for(now + 5) == 0.0          # ...and a second without refusals ends the overload
    limiter.refused(now + 6)
    limiter.refused(now + 16)
    assert limiter.over_for(now + 16) == 10.0


def test_byte_limits_come_from_the_environment_with_units() -> None:
    config = Config.from_env({"FRONTDESK_LIMIT_UPLOAD_BYTES_PER_TOKEN": "50MiB/600",
                              "FRONTDESK_LIMIT_UPLOAD_BYTES_PER_CONVERSATION": "512KiB/60"})
    assert config.limit_upload_bytes_per_token == Limit(50 << 20, 600)
    assert config.limit_upload_bytes_per_conversation == Limit(512 << 10, 60)
    with pytest.raises(ValueError, match="FRONTDESK_LIMIT_UPLOAD_BYTES_PER_TOKEN"):
        Config.from_env({"FRONTDESK_LIMIT_UPLOAD_BYTES_PER_TOKEN": "MiB/600"})


def test_a_tokens_frames_follow_the_sockets_rate_unless_set_themselves() -> None:
    assert Config.from_env({}).limit_frames_per_token == Limit(40, 2)
    assert Config.from_env({"FRONTDESK_RATE_LIMIT": "5"}).limit_frames_per_token == Limit(10, 2)
    assert Config.from_env({"FRONTDESK_RATE_LIMIT": "5", "FRONTDESK_LIMIT_FRAMES_PER_TOKEN": "100/10"}
                           ).limit_frames_per_token == Limit(100, 10)
