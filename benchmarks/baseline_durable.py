"""The bare relay with the engine's durability: every message committed before it is forwarded.

``python -m benchmarks.baseline_relay --database-url URL`` serves this relay instead of the bare
one. The pairs and frames are the bare relay's (``/pair/<pair id>/<side>``, text frames forwarded
unchanged); in between, each message is stored in PostgreSQL through the engine's own group-commit
loop (``frontdesk.engine.storage.db.CommitLoop``, asyncpg through trio-asyncio), and a message goes to
the other peer only after its COMMIT, as the engine's ``ack`` and ``message`` do. Whatever waits
when a commit starts goes into that commit, as one ``INSERT … SELECT FROM unnest(…)`` statement.
After the commit the sender gets what the engine sends it too: an ``ack`` frame (with the frame's
``client_id``) and its own message back, so the generator reads as many frames per message as it
does from the engine (three, against the bare relay's one) and its own work is no difference
between the two.

What it measures: the floor of a server that keeps the engine's promise (nothing reaches the other
side before it is durable) and sends the engine's frames, on this machine, with no routing, no
validation beyond reading ``client_id``, and a plain table (no foreign key, no search index). The
engine's distance from the bare relay is then two parts: what the durable commit and the frames
cost (this relay against the bare one) and what the engine does besides (the engine against this
relay).

Order: the commit loop commits in arrival order and wakes in that order; each side's frames go
out in order through one writer task per socket.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.runtime.config import MAX_BATCH_WRITES
from frontdesk.engine.storage.db import Database, Step, open_database

from .relay_pairs import pair_path

TABLE = "bench_relay_message"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    pair text NOT NULL,
    side text NOT NULL,
    body text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
)"""
INSERT = (f"INSERT INTO {TABLE} (id, pair, side, body) "
          "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])")
INBOX_BOUND = 65_536        # messages waiting for a commit before readers wait (as the engine's Persister)


@dataclass(eq=False)
class _Message:
    pair: str
    side: str
    body: str
    to: trio.MemorySendChannel[str]       # the other side's outbox
    back: trio.MemorySendChannel[str]     # the sender's own outbox: its ack and its message


def ack_of(body: str) -> str:
    """The ack of a frame: its ``client_id`` (none when the frame is not a JSON object that has one)."""
    try:
        frame = orjson.loads(body)
    except orjson.JSONDecodeError:
        frame = None
    client_id = frame.get("client_id") if isinstance(frame, dict) else None
    return orjson.dumps({"type": "ack", "client_id": client_id}).decode()


@dataclass
class _Pair:
    outboxes: dict[str, tuple[trio.MemorySendChannel[str], trio.MemoryReceiveChannel[str]]] = field(
        default_factory=lambda: {s: trio.open_memory_channel[str](math.inf) for s in ("a", "b")})
    connected: int = 0


def plan(batch: list[_Message]) -> Sequence[Step]:
    """One statement for the whole batch."""
    return [(INSERT, [([str(uuid.uuid4()) for _ in batch], [m.pair for m in batch], [m.side for m in batch],
                       [m.body for m in batch])])]


class DurableRelay:
    def __init__(self, db: Database):
        self.pairs: dict[str, _Pair] = {}
        self.commits = db.commit_loop(plan, self._committed, MAX_BATCH_WRITES, INBOX_BOUND)

    def _committed(self, batch: list[_Message], error: DatabaseError | None, _seconds: float) -> None:
        """Called by the commit loop as each batch is committed: the messages go on to their peers."""
        if error is not None:
            return      # not forwarded: the sender's peer never sees an unstored message
        for m in batch:
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                m.to.send_nowait(m.body)
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                m.back.send_nowait(ack_of(m.body))
                m.back.send_nowait(m.body)

    async def handle(self, request: WebSocketRequest) -> None:
        where = pair_path(request.path)
        if where is None:
            await request.reject(404)
            return
        pair_id, side, other = where
        ws = await request.accept()
        pair = self.pairs.setdefault(pair_id, _Pair())
        pair.connected += 1
        to_other, back = pair.outboxes[other][0], pair.outboxes[side][0]
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, ws, pair.outboxes[side][1], nursery.cancel_scope)
                try:
                    while True:
                        body = await ws.get_message()
                        await self.commits.put(_Message(pair_id, side, str(body), to_other, back))
                except ConnectionClosed:
                    nursery.cancel_scope.cancel()
        finally:
            pair.connected -= 1
            if not pair.connected:      # a pair is used once (as the bare relay's: its peers come and go together)
                self.pairs.pop(pair_id, None)

    async def _writer(self, ws: WebSocketConnection, outbox: trio.MemoryReceiveChannel[str],
                      scope: trio.CancelScope) -> None:
        async with outbox:
            try:
                async for body in outbox:
                    await ws.send_message(body)
            except ConnectionClosed:
                scope.cancel()


async def serve_durable_relay(database_url: str, host: str = "127.0.0.1", port: int = 0,
                              *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the durable relay until cancelled; ``task_status.started(port)`` once it listens."""
    async with open_database(database_url) as db:
        await db.execute(CREATE_TABLE)
        relay = DurableRelay(db)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(relay.commits.run)
            server = await nursery.start(serve_websocket, relay.handle, host, port, None)
            task_status.started(int(server.port))
