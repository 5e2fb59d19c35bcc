"""Persister: the group-commit actor. Every durable write of the engine goes through it.

Whatever writes are waiting in a lane's inbox when a transaction starts go into that one
transaction (up to ``MAX_BATCH_WRITES``), in arrival order, so 1,000 concurrent senders cost a
few commits instead of 1,000; ``commit_plan.py`` makes the batch as few statements as the order
of its writes allows, most often one. A batch holds one write per key: a key's next write waits
at the head of the inbox for the next commit. Two writes of one key in one batch would need two
statements one after the other in a transaction (BEGIN, each statement, COMMIT), which under load
takes about three times as long as a one-statement commit under load.

The loop itself runs on the asyncio side of the bridge (``db.CommitLoop``): it wakes when a write
is queued and wakes the writers as soon as the commit returns, without a hop through a trio task
of its own. A writer that needs to know its write is durable awaits ``write()``: it returns only
after COMMIT. Fire-and-forget writes (``post``) keep their order relative to every other write
with the same key.

One loop on one connection: a second one, overlapping its flush with the first's, makes smaller
batches and costs more CPU per message.

Error handling: when a batch fails, each of its writes is retried alone, so one bad write
cannot take its neighbours down; a write that still fails raises ``DatabaseError`` in its
waiter (a client whose send was not acked retries with the same client_id, and the unique key
stores it once). A posted write has nobody to tell: while the database is unavailable it waits,
in order with its key's later writes, and is committed once the database is back; a posted
write that the database refuses for good is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import MAX_BATCH_WRITES
from frontdesk.engine.storage.commit_plan import Bulk, plan
from frontdesk.engine.storage.db import CommitLoop, Database, DatabaseUnavailable, Statement, Step

log = logging.getLogger(__name__)

# Fire-and-forget writes from the Router must not block it; a large bound costs nothing until used
# and still shows backpressure when the database stalls.
PERSISTER_INBOX_SIZE = 65_536


@dataclass(eq=False)
class Write:
    statements: Sequence[Statement]
    done: trio.Event | None     # set once committed (or failed: then ``error``); None for ``post``
    key: str | None = None      # what the write is about; writes with one key commit in order
    error: DatabaseError | None = None


def _key_of(w: Write) -> str | None:
    return w.key


class Persister:
    def __init__(self, db: Database, bulk: Mapping[str, Bulk] | None = None):
        """``bulk``: the statements that have a form for many rows (``queries.BULK``)."""
        self._bulk = bulk or {}
        self._waiting_for_database = False
        self._loop: CommitLoop[Write] = db.commit_loop(self._plan, self._done, MAX_BATCH_WRITES,
                                                       PERSISTER_INBOX_SIZE, key=_key_of)

    async def write(self, statements: Sequence[Statement], key: str | None = None) -> None:
        """Commit ``statements`` (in one transaction with whatever else is waiting).

        Returns after COMMIT; raises ``DatabaseError`` if they could not be stored.
        """
        w = Write(statements, trio.Event(), key)   # an Event, not a reply channel: a fifth of the cost per write
        await self._loop.put(w)
        assert w.done is not None
        await w.done.wait()
        if w.error is not None:
            raise w.error

    async def post(self, statements: Sequence[Statement], key: str | None = None) -> None:
        """Queue ``statements`` for a coming commit without waiting; in order with ``key``'s writes."""
        await self._loop.put(Write(statements, None, key))

    @property
    def waiting(self) -> int:
        """Writes queued and not yet committed."""
        return self._loop.waiting

    async def drain(self) -> None:
        """Return once every write queued before is committed (or failed)."""
        await self._loop.drain()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await self._loop.run()

    def _plan(self, batch: list[Write]) -> Sequence[Step]:
        return plan([(w.key, w.statements) for w in batch], self._bulk)

    def _done(self, batch: list[Write], error: DatabaseError | None, seconds: float) -> list[Write]:
        """Called by the commit loop as soon as ``batch`` is committed (or failed: ``error``); returns
        the posted writes to keep for when the database is back."""
        if error is None:
            metrics.COMMIT_LATENCY.observe(seconds)
            metrics.COMMIT_BATCH.observe(len(batch))
        kept = []
        for w in batch:
            if w.done is not None:
                w.error = error
                w.done.set()    # never blocks; a cancelled waiter simply does not look
            elif isinstance(error, DatabaseUnavailable):
                kept.append(w)
            elif error is not None:
                log.error("write refused, not stored: %s (%d statements: %s)", error, len(w.statements),
                          [s[0].split()[0:3] for s in w.statements])
        if kept and not self._waiting_for_database:
            self._waiting_for_database = True
            log.warning("database unavailable (%s): writes wait and are committed in order once it is back", error)
        elif error is None and self._waiting_for_database:
            self._waiting_for_database = False
            log.info("database back: the writes that waited are being committed")
        return kept
