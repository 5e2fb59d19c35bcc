"""The actor maps (engine/runtime/registry.py) count their live actors in /metrics: an actor that
returns, or crashes and is restarted, leaves the count where the map is. Driven by trio's
MockClock: the restart's back-off takes no real time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.registry import ActorMap
from frontdesk.engine.runtime.supervision import Strategy


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


class Resting:
    """Runs until told to rest (returns) or to fail (a bug: raises)."""

    def __init__(self) -> None:
        self.rest = trio.Event()
        self.fail = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await self.rest.wait()
        if self.fail:
            raise RuntimeError("a bug")


def live(kind: str) -> float | None:
    return metrics.REGISTRY.get_sample_value("frontdesk_live_actors", {"actor": kind})


async def test_the_count_follows_actors_that_start_and_return(clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        actors: ActorMap[Resting] = ActorMap(nursery, Strategy("test-rest"))
        a, b, c = Resting(), Resting(), Resting()
        actors.spawn("a", a)
        await actors.start("b", b)
        actors.spawn("c", c)
        assert live("test-rest") == 3 == len(actors)
        a.rest.set()
        await trio.sleep(1)
        assert live("test-rest") == 2 == len(actors) and "a" not in actors
        b.rest.set()
        c.rest.set()
        await trio.sleep(1)
        assert live("test-rest") == 0 == len(actors)


async def test_a_restarted_actor_counts_once_and_its_return_leaves_none(clock: trio.testing.MockClock) -> None:
    successor = Resting()

    async def restart(_key: str, _crashed: Resting) -> Resting:
        return successor

    async with trio.open_nursery() as nursery:
        actors: ActorMap[Resting] = ActorMap(nursery, Strategy("test-restart"))
        first = Resting()
        first.fail = True
        actors.spawn("x", first, restart)
        await trio.sleep(1)
        first.rest.set()                 # crashes, and its successor takes its place
        await trio.sleep(1)
        assert actors.get("x") is successor and live("test-restart") == 1
        successor.rest.set()
        await trio.sleep(1)
        assert live("test-restart") == 0 and len(actors) == 0
