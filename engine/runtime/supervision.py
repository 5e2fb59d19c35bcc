"""Supervision: what a crash of an actor does.

An actor's task ends in one of three ways. It returns: its work is done (a conversation ended,
an agent's grace ran out). It is cancelled: the engine stops. Or it raises an unexpected
exception: a bug in the handling of one command. The last is the supervisor's business, by the
``Strategy`` of that kind of actor: the crash is logged once with the actor, its id and the
command it was handling, counted in ``/metrics`` (``frontdesk_actor_restarts_total``), and after
a back-off that doubles with each crash the actor is restarted — from the database, by the
``restart`` its owner gives, since state that must survive lives there. An actor that crashes
``max_crashes`` times within ``window_s`` is parked instead: logged, counted
(``frontdesk_actors_parked_total``), and handed to ``park``; every other actor goes on.

A restart that cannot read the database (it is down) is no new crash: it waits and tries again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.runtime import metrics

log = logging.getLogger(__name__)


class Actor(Protocol):
    async def run(self, *, task_status: trio.TaskStatus[None] = ...) -> None: ...


A = TypeVar("A", bound=Actor)


@dataclass(frozen=True)
class Strategy:
    kind: str                       # the actor's kind, as logs and metrics name it
    max_crashes: int = 5            # this many crashes ...
    window_s: float = 60.0          # ... within this long park the actor
    first_backoff_s: float = 0.05
    max_backoff_s: float = 5.0


class _StartedOnce:
    """A task status that passes on the first ``started`` only: a restarted actor starts again."""

    def __init__(self, inner: trio.TaskStatus[None]):
        self._inner = inner
        self.done = False

    def started(self, value: None = None) -> None:
        if not self.done:
            self.done = True
            self._inner.started(value)


async def supervise(strategy: Strategy, key: str, actor: A, restart: Callable[[str, A], Awaitable[A | None]] | None,
                    *, replace: Callable[[A | None], None] = lambda _: None,
                    park: Callable[[str, A], Awaitable[None]] | None = None,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Run ``actor`` until it returns or is cancelled, restarting it after each crash.

    ``restart(key, crashed)`` makes its successor (None: nothing left to run); ``replace`` is told
    of each change of the running actor (None while there is none); ``park(key, crashed)`` is
    awaited when the actor is parked. Without ``restart`` a crash parks at once.
    """
    status = _StartedOnce(task_status)
    crashes: deque[float] = deque()
    backoff = strategy.first_backoff_s
    while True:
        try:
            await actor.run(task_status=status)
            return
        except Exception:
            handling = getattr(actor, "handling", None)
            log.exception("%s %s crashed handling %r", strategy.kind, key, handling)
        replace(None)
        now = trio.current_time()
        crashes.append(now)
        while crashes and now - crashes[0] > strategy.window_s:
            crashes.popleft()
        if restart is None or len(crashes) >= strategy.max_crashes:
            metrics.ACTORS_PARKED.labels(strategy.kind).inc()
            log.error("%s %s parked after %d crashes within %.0f s: not restarted", strategy.kind, key,
                      len(crashes), strategy.window_s)
            if park is not None:
                await park(key, actor)
            status.started()    # a caller waiting for the start is not left waiting for ever
            return
        metrics.ACTOR_RESTARTS.labels(strategy.kind).inc()
        successor = await _restarted(strategy, key, actor, restart, backoff)
        backoff = min(strategy.max_backoff_s, backoff * 2)
        if successor is None:
            status.started()
            return
        actor = successor
        replace(actor)


async def _restarted(strategy: Strategy, key: str, crashed: A, restart: Callable[[str, A], Awaitable[A | None]],
                     backoff: float) -> A | None:
    """The successor of ``crashed``, once the database can be read for it."""
    while True:
        await trio.sleep(backoff)
        try:
            return await restart(key, crashed)
        except DatabaseError as exc:
            log.warning("%s %s: restart waits for the database (%s)", strategy.kind, key, exc)
            backoff = min(strategy.max_backoff_s, backoff * 2)
