"""TokenResolver: the websocket hellos waiting at one moment are looked up in ONE query.

Every ``hello`` names its subject by a token. Looked up one by one, a storm of connections
(an engine restart brings every agent and customer back at once) cost a pooled connection, an
asyncio hop and a round trip each. Like the Persister's group commit, the resolver takes every
lookup that is waiting when it wakes, asks PostgreSQL once (``token_hash = ANY($1)``) and
answers each; while that query runs, the next lookups gather for the one after.

Error handling: a failed query fails every lookup of its batch with the ``DatabaseError``, as a
query of their own would have; the resolver goes on with the next batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Row

MAX_BATCH_LOOKUPS = 512       # hashes in one query
INBOX_SIZE = 65_536           # lazily allocated; a full inbox makes a hello wait, never fail


@dataclass(eq=False)
class _Lookup:
    token_hash: bytes
    done: trio.Event
    row: Row | None = None
    error: DatabaseError | None = None


class TokenResolver:
    def __init__(self, db: Database):
        self._db = db
        self._send, self._inbox = trio.open_memory_channel[_Lookup](INBOX_SIZE)

    async def resolve(self, token_hash: bytes) -> Row | None:
        """What ``queries.hello_subjects`` says of ``token_hash``: None for an unknown or expired token.

        Raises ``DatabaseError`` when the lookup failed."""
        lookup = _Lookup(token_hash, trio.Event())
        await self._send.send(lookup)
        await lookup.done.wait()
        if lookup.error is not None:
            raise lookup.error
        return lookup.row

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self._inbox:
            task_status.started()
            while True:
                batch = [await self._inbox.receive()]
                while len(batch) < MAX_BATCH_LOOKUPS:
                    try:
                        batch.append(self._inbox.receive_nowait())
                    except trio.WouldBlock:
                        break
                await self._answer(batch)

    async def _answer(self, batch: list[_Lookup]) -> None:
        try:
            rows = await queries.hello_subjects(self._db, list({lookup.token_hash for lookup in batch}))
        except DatabaseError as exc:
            for lookup in batch:
                lookup.error = exc
                lookup.done.set()
            return
        by_hash = {bytes(row["token_hash"]): row for row in rows}
        for lookup in batch:
            lookup.row = by_hash.get(lookup.token_hash)
            lookup.done.set()
