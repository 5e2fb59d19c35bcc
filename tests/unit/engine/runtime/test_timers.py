"""Timers (engine/runtime/timers.py): one heap and one task for every offer, grace and wait deadline.
Driven by trio's MockClock: no test here waits in real time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from frontdesk.engine.runtime.timers import COMPACT_MIN, Timers


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


async def test_timers_fire_in_deadline_order_at_their_deadlines(clock: trio.testing.MockClock) -> None:
    timers = Timers()
    fired: list[tuple[str, float]] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        start = trio.current_time()
        for name, seconds in [("c", 3.0), ("a", 1.0), ("b", 2.0), ("a2", 1.0)]:
            timers.after(seconds, lambda n=name: fired.append((n, trio.current_time() - start)))
        await trio.sleep(10)
        nursery.cancel_scope.cancel()
    assert fired == [("a", 1.0), ("a2", 1.0), ("b", 2.0), ("c", 3.0)]
    assert len(timers) == 0


async def test_an_earlier_timer_wakes_the_sleeping_task(clock: trio.testing.MockClock) -> None:
    timers = Timers()
    fired: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        start = trio.current_time()
        timers.after(100.0, lambda: fired.append(trio.current_time() - start))
        await trio.sleep(1)
        timers.after(1.0, lambda: fired.append(trio.current_time() - start))   # due at 2, before 100
        await trio.sleep(200)
        nursery.cancel_scope.cancel()
    assert fired == [2.0, 100.0]


async def test_a_cancelled_timer_never_fires_and_cancel_is_idempotent(clock: trio.testing.MockClock) -> None:
    timers = Timers()
    fired: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        keep = timers.after(2.0, lambda: fired.append("keep"))
        drop = timers.after(1.0, lambda: fired.append("drop"))
        drop.cancel()
        drop.cancel()
        assert drop.cancelled and not keep.cancelled and len(timers) == 1
        await trio.sleep(5)
        keep.cancel()            # after firing: nothing to do
        nursery.cancel_scope.cancel()
    assert fired == ["keep"] and len(timers) == 0


async def test_a_failing_action_is_logged_and_the_others_still_fire(
        clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    timers = Timers()
    fired: list[int] = []

    def boom() -> None:
        raise RuntimeError("boom")

    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        timers.after(1.0, boom)
        timers.after(1.0, lambda: fired.append(1))
        timers.after(2.0, lambda: fired.append(2))
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert fired == [1, 2]
    assert "timer action failed" in caplog.text


async def test_cancelled_timers_are_dropped_when_they_outnumber_the_live_ones(clock: trio.testing.MockClock) -> None:
    timers = Timers()
    fired: list[int] = []
    handles = [timers.after(1000.0 + i, lambda i=i: fired.append(i)) for i in range(COMPACT_MIN * 2)]
    for h in handles[: COMPACT_MIN + 10]:
        h.cancel()
    assert len(timers._heap) < COMPACT_MIN * 2          # compacted once half were cancelled
    assert len(timers) == COMPACT_MIN - 10
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        await trio.sleep(5000)
        nursery.cancel_scope.cancel()
    assert fired == list(range(COMPACT_MIN + 10, COMPACT_MIN * 2))
