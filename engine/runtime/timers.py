"""Timers: many deadlines kept in one heap and fired by one task.

An offer's expiry, a waiting chat's maximum wait, a customer's grace: most of these timers are
cancelled long before they fire, so a timer is a heap entry and cancelling it sets a flag: a
task per timer (spawn, cancel scope, sleep, cancel) costs a burst of new chats a large share of
the engine's CPU. One ``Timers`` serves the whole engine: the Router, every Conversation and
every AgentActor.

``Timers.at(deadline, action)`` calls ``action()`` once ``trio.current_time()`` reaches
``deadline`` (so trio's MockClock drives it in tests), in the timers' own task: an action must
not block; it posts a command to its actor. ``Timer.cancel()`` guarantees the action will not
run. Cancelled entries leave the heap when due, or all at once when they outnumber the live
ones (memory stays bounded by the live timers).

Resource handling: ``run`` belongs in a nursery that outlives the actors using it; timers due
after it stopped never fire.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable

import trio

log = logging.getLogger(__name__)

COMPACT_MIN = 1024      # a heap smaller than this is never compacted


class Timer:
    """One deadline; ``cancel`` it and its action never runs."""

    __slots__ = ("_timers", "action", "deadline")

    def __init__(self, deadline: float, action: Callable[[], None], timers: Timers):
        self.deadline = deadline
        self.action: Callable[[], None] | None = action
        self._timers = timers

    @property
    def cancelled(self) -> bool:
        """True once cancelled or fired."""
        return self.action is None

    def cancel(self) -> None:
        if self.action is not None:
            self.action = None      # also lets go of what the action holds
            self._timers._cancelled()


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._cancelled_in_heap = 0
        self._wake = trio.Event()

    def __len__(self) -> int:
        """Timers that may still fire."""
        return len(self._heap) - self._cancelled_in_heap

    def at(self, deadline: float, action: Callable[[], None]) -> Timer:
        timer = Timer(deadline, action, self)
        if not self._heap or deadline < self._heap[0][0]:
            self._wake.set()    # earlier than what the task sleeps for
        heapq.heappush(self._heap, (deadline, next(self._order), timer))
        return timer

    def after(self, seconds: float, action: Callable[[], None]) -> Timer:
        return self.at(trio.current_time() + seconds, action)

    def _cancelled(self) -> None:
        self._cancelled_in_heap += 1
        if len(self._heap) >= COMPACT_MIN and self._cancelled_in_heap * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled_in_heap = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            self._fire_due(trio.current_time())
            self._wake = trio.Event()
            if self._heap:
                with trio.move_on_at(self._heap[0][0]):
                    await self._wake.wait()
            else:
                await self._wake.wait()

    def _fire_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            action = timer.action
            if action is None:
                self._cancelled_in_heap -= 1
                continue
            timer.action = None
            try:
                action()
            except Exception:   # one failing action must not stop every other timer
                log.exception("timer action failed")
