"""Persister: the group-commit actor. Every durable write of the engine goes through it.

Whatever writes are waiting in a lane's inbox when a transaction starts go into that one
transaction (up to ``MAX_BATCH_WRITES``), in arrival order, so 1,000 concurrent senders cost a
few commits instead of 1,000; ``commit_plan.py`` makes the batch as few statements as the order
of its writes allows, most often one. A writer that needs to know its write is durable awaits
``write()``: it returns only after COMMIT. Fire-and-forget writes (``post``) keep their order
relative to every other write with the same key.

Lanes: a commit waits for the disk (fsync), and while one transaction is being flushed the
next batch can already be on its way. ``LANES`` group-commit loops run side by side, each on
its own connection; a write goes to the lane of its ``key`` (a conversation id, an agent id),
so writes about the same thing stay in order while different conversations overlap their
flushes (PostgreSQL then shares one fsync among the commits that arrive together).

Error handling: when a batch fails, each of its writes is retried alone, so one bad write
cannot take its neighbours down; a write that still fails raises ``DatabaseError`` in its
waiter (or is logged, for ``post``). Nothing is retried forever here: a client whose send
was not acked retries with the same client_id, and the unique key stores it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import trio

from . import metrics
from .commit_plan import Bulk, plan
from .config import MAX_BATCH_WRITES
from .db import Database, Statement, Writer
from .errors import DatabaseError

log = logging.getLogger(__name__)

# Fire-and-forget writes from the Router must not block it; the channel buffer is lazy, so a
# large bound costs nothing until used and still shows backpressure when the database stalls.
PERSISTER_INBOX_SIZE = 65_536
# One lane by default: measured at 500 msgs/s (benchmarks/README.md), one lane made bigger batches
# and cost less CPU (engine 75 % instead of 83-87 %, p50 7.4 ms instead of 11 ms); at 100 msgs/s
# the lanes made no measurable difference. Writes still name their key, so more lanes stay correct.
LANES = 1


@dataclass(eq=False)
class Write:
    statements: Sequence[Statement]
    done: trio.Event | None     # set once committed (or failed: then ``error``); None for ``post``
    key: str | None = None      # what the write is about; writes with one key commit in order
    error: DatabaseError | None = None


class Persister:
    def __init__(self, db: Database, bulk: Mapping[str, Bulk] | None = None, lanes: int = LANES):
        """``bulk``: the statements that have a form for many rows (``queries.BULK``)."""
        self._db = db
        self._bulk = bulk or {}
        channels = [trio.open_memory_channel[Write](PERSISTER_INBOX_SIZE) for _ in range(lanes)]
        self._lanes = [send for send, _ in channels]
        self._inboxes = [recv for _, recv in channels]

    def _lane(self, key: str | None) -> trio.MemorySendChannel[Write]:
        return self._lanes[hash(key) % len(self._lanes) if key is not None else 0]

    async def write(self, statements: Sequence[Statement], key: str | None = None) -> None:
        """Commit ``statements`` (in one transaction with whatever else is waiting in their lane).

        Returns after COMMIT; raises ``DatabaseError`` if they could not be stored.
        """
        w = Write(statements, trio.Event(), key)   # an Event, not a reply channel: a fifth of the cost per write
        await self._lane(key).send(w)
        assert w.done is not None
        await w.done.wait()
        if w.error is not None:
            raise w.error

    async def post(self, statements: Sequence[Statement], key: str | None = None) -> None:
        """Queue ``statements`` for a coming commit without waiting; in order with ``key``'s writes."""
        await self._lane(key).send(Write(statements, None, key))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for inbox in self._inboxes:
                nursery.start_soon(self._group_commit, inbox)
            task_status.started()

    async def _group_commit(self, inbox: trio.MemoryReceiveChannel[Write]) -> None:
        async with inbox, self._db.writer() as writer:
            while True:
                batch = [await inbox.receive()]
                while len(batch) < MAX_BATCH_WRITES:
                    try:
                        batch.append(inbox.receive_nowait())
                    except trio.WouldBlock:
                        break
                await self._commit(writer, batch)

    async def _commit(self, writer: Writer, batch: list[Write]) -> None:
        started = time.perf_counter()
        try:
            await writer.execute_steps(plan([(w.key, w.statements) for w in batch], self._bulk))
        except DatabaseError as exc:
            if len(batch) == 1:
                self._reply(batch[0], exc)
                return
            log.warning("group commit of %d writes failed (%s); retrying them one by one", len(batch), exc)
            for w in batch:
                try:
                    await writer.execute_steps(plan([(w.key, w.statements)], self._bulk))
                except DatabaseError as one_exc:
                    self._reply(w, one_exc)
                else:
                    self._reply(w, None)
            return
        metrics.COMMIT_LATENCY.observe(time.perf_counter() - started)
        metrics.COMMIT_BATCH.observe(len(batch))
        for w in batch:
            self._reply(w, None)

    @staticmethod
    def _reply(w: Write, error: DatabaseError | None) -> None:
        if w.done is not None:
            w.error = error
            w.done.set()    # never blocks; a cancelled waiter simply does not look
        elif error is not None:
            log.error("write lost: %s (%d statements: %s)", error, len(w.statements),
                      [s[0].split()[0:3] for s in w.statements])
