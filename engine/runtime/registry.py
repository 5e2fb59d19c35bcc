"""The maps of live actors: one per open conversation, one per signed-in agent.

An ``ActorMap`` is the only writer of its map. ``spawn`` and ``start`` add an actor and run it in
the actor nursery the map was given, supervised by the map's ``Strategy`` (``supervision.py``):
a crashed actor leaves the map at once and its successor, restarted from the database, takes
its place. The entry goes when the actor's task returns, before any other task runs, so a lookup
never finds an actor that has stopped. The map also keeps its kind's count of live actors in
``/metrics`` (``frontdesk_live_actors``): a resting messaging conversation leaves none behind.
Everyone else only looks actors up (``get``), which in trio is atomic: nothing can change the map
between a lookup and the use of what it found, as long as no ``await`` lies between them.

Resource handling: the nursery belongs to the supervisor; cancelling it stops every actor of the
map.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import trio

from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.supervision import Actor, Strategy, supervise

T_co = TypeVar("T_co", covariant=True)
A = TypeVar("A", bound=Actor)

# Makes the successor of a crashed actor (None: nothing to run), or parks it.
Restart = Callable[[str, A], Awaitable[A | None]]
Park = Callable[[str, A], Awaitable[None]]


class Lookup(Protocol[T_co]):
    """Live actors by id, as their peers see them: look up, never add or remove."""

    def get(self, key: str) -> T_co | None: ...


class ActorMap(Generic[A]):
    def __init__(self, nursery: trio.Nursery, strategy: Strategy):
        self._nursery = nursery
        self._strategy = strategy
        self._actors: dict[str, A] = {}
        self._live = metrics.LIVE_ACTORS.labels(strategy.kind)     # kept equal to len(self)

    def get(self, key: str) -> A | None:
        return self._actors.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._actors

    def __len__(self) -> int:
        return len(self._actors)

    def items(self) -> list[tuple[str, A]]:
        """The actors running now, as a list: it does not change while its reader awaits."""
        return list(self._actors.items())

    def spawn(self, key: str, actor: A, restart: Restart[A] | None = None, park: Park[A] | None = None) -> None:
        """Run ``actor`` without waiting for its start. It is found at once; what is posted to its
        inbox before its task first runs waits there (a new chat's POST waits no scheduler round)."""
        self._actors[key] = actor
        self._live.set(len(self._actors))
        self._nursery.start_soon(self._run, key, actor, restart, park)

    async def start(self, key: str, actor: A, restart: Restart[A] | None = None, park: Park[A] | None = None
                    ) -> None:
        """Run ``actor`` and return once it has started."""
        self._actors[key] = actor
        self._live.set(len(self._actors))
        await self._nursery.start(self._run, key, actor, restart, park)

    async def _run(self, key: str, actor: A, restart: Restart[A] | None, park: Park[A] | None, *,
                   task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        running: list[A | None] = [actor]   # the actor of this key this task runs now

        def replace(successor: A | None) -> None:
            current = running[0]
            if current is not None and self._actors.get(key) is current:
                del self._actors[key]
            if successor is not None and key not in self._actors:
                self._actors[key] = successor
            running[0] = successor
            self._live.set(len(self._actors))

        try:
            await supervise(self._strategy, key, actor, restart, replace=replace, park=park,
                            task_status=task_status)
        finally:
            replace(None)

    def send_later(self, send: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``send`` (into an actor's full inbox) in a helper task, so the caller does not block.
        If the actor ends meanwhile, the command is dropped, as a post to an ended actor is: its
        closed inbox must not take the actor nursery, and every actor with it, down."""
        self._nursery.start_soon(_send_or_drop, send, *args)


async def _send_or_drop(send: Callable[..., Awaitable[Any]], *args: Any) -> None:
    try:
        await send(*args)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
