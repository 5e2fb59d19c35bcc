"""The one bridge between the trio engine and asyncpg (asyncio), through trio-asyncio.

Nothing else in the engine imports asyncpg or trio_asyncio. Every public coroutine here is a
trio coroutine that makes exactly one hop into asyncio, so callers pay the hop once per call.
The exception is the Persister's ``CommitLoop``, which runs on the asyncio side for as long as the
engine runs and is handed writes from trio without a hop.

Resource handling: ``open_database`` opens the asyncio loop (trio-asyncio) and the pool, and
closes both on exit, shielded from cancellation so connections are returned even when the
engine is being cancelled.

Error handling: every asyncpg or connection error becomes ``DatabaseError``; a unique-key
violation becomes ``UniqueViolation`` so callers can answer "conflict".
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import asyncpg
import orjson
import trio
import trio_asyncio

from frontdesk.core.errors import DatabaseError

log = logging.getLogger(__name__)

Row = Mapping[str, Any]
Statement = tuple[str, Sequence[Any]]
# One step of a commit: a SQL text and its argument lists (one list: execute; several: executemany).
Step = tuple[str, Sequence[Sequence[Any]]]
T = TypeVar("T")

POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 10
# Prepared statements kept per connection (asyncpg's default is 100): a group commit joins a round's
# statements into one text per set of shapes (commit_plan.py), a few dozen of them in a busy hour.
STATEMENT_CACHE_SIZE = 1000
# A commit loop with keys looks at most this many times ``max_batch`` items ahead for its batch.
TAKE_LOOKAHEAD = 4
# Advisory lock key that serialises schema application when several engines start at once.
SCHEMA_LOCK_KEY = 0x46_44_53_43  # "FDSC"


# A commit loop that cannot reach the database tries again this often, keeping what waits.
UNAVAILABLE_RETRY_S = 0.5
# SQLSTATE classes of a server that cannot serve now but may soon: connection exceptions,
# insufficient resources, operator intervention (shutting down, starting up, terminated); and a
# database that refuses connections for now (ALLOW_CONNECTIONS false, 55000 on connecting).
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_STATES = ("55000",)


class UniqueViolation(DatabaseError):
    """A statement broke a unique key (for example a second account with the same e-mail)."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or cannot serve now; the same statement may succeed later."""


def _map_error(exc: BaseException) -> DatabaseError:
    message = f"database error: {exc.__class__.__name__}: {exc}"
    if isinstance(exc, asyncpg.UniqueViolationError):
        return UniqueViolation(str(exc))
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        unavailable = sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_STATES
        return DatabaseUnavailable(message) if unavailable else DatabaseError(message)
    return DatabaseUnavailable(message)     # no answer from a server: a lost or refused connection


# InternalClientError: asyncpg's protocol state on a connection the server cut (seen when a
# backend was terminated while the connection sat idle); the connection is dropped like a broken one
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError,
              ConnectionError)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Pool reset on release: nothing to undo. The engine sets no session state, holds no advisory
    lock or cursor past a call, and un-listens itself; asyncpg's default reset (advisory unlock,
    CLOSE ALL, UNLISTEN *, RESET ALL) would cost a round trip per commit (benchmarks/README.md)."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(),
                                  decoder=orjson.loads, format="text")


async def _run_steps(conn: asyncpg.Connection, steps: Sequence[Step]) -> None:
    if len(steps) == 1:
        # one statement (or one executemany, atomic since asyncpg 0.22) commits on its own: one
        # round trip instead of three (BEGIN, statements, COMMIT)
        sql, arglists = steps[0]
        if len(arglists) == 1:
            await conn.execute(sql, *arglists[0])
        else:
            await conn.executemany(sql, arglists)
        return
    async with conn.transaction():
        for sql, arglists in steps:
            if len(arglists) == 1:
                await conn.execute(sql, *arglists[0])
            else:
                await conn.executemany(sql, arglists)


class CommitLoop(Generic[T]):
    """A group-commit loop that runs on the asyncio side of the bridge, on a connection it holds.

    Trio tasks hand items in with ``put``. The loop takes every item waiting (up to
    ``max_batch``), asks ``plan`` for the batch's steps (a SQL text and its argument lists: one
    list is an execute, several an executemany), runs them in one transaction (none when there is
    one step) and calls ``done(items, error, seconds)`` at once: a plain function that wakes the
    waiting trio tasks. A batch that fails is retried item by item, so one bad item fails alone.
    While the database is unavailable, ``done`` may return the items to keep: they go back to the
    head of the queue, in their order, and the loop tries again after ``UNAVAILABLE_RETRY_S``.

    With ``key``, a batch takes at most ONE item per key (items whose key is None always go):
    a key's later items stay at the head of the queue, in order, for the next batches. Items of
    one key then never need two statements one after the other in one transaction (BEGIN, each
    statement, COMMIT: a round trip each, three times a one-statement commit under load), and
    they still commit in order.

    Why asyncio-side: a trio task calling into asyncio for each batch paid two more scheduler
    rounds per commit (the task's start on the asyncio side, and the trio task's wake-up after
    it) than this loop, which wakes on ``put`` and answers from where the result arrives.

    The connection: taking a pooled connection and giving it back for each commit cost more than
    the statements. A connection that broke (anything but an error PostgreSQL reported) is
    terminated, which hands its slot back to the pool, and the next batch takes a fresh one.
    """

    def __init__(self, pool: asyncpg.Pool, plan: Callable[[list[T]], Sequence[Step]],
                 done: Callable[[list[T], DatabaseError | None, float], Sequence[T] | None], max_batch: int,
                 bound: int, key: Callable[[T], object] | None = None):
        self._pool, self._plan, self._done, self._key = pool, plan, done, key
        self._max_batch, self._bound = max_batch, bound
        # filled by trio tasks, emptied by the asyncio task: one thread, no await between a check and its change
        self._items: deque[T] = deque()
        self._conn: Any = None
        self._wakeup: asyncio.Future[None] | None = None    # set while the loop waits for items
        self._space: trio.Event | None = None               # set while a put waits for room
        self._drained: trio.Event | None = None             # set while a drain waits for the loop

    async def put(self, item: T) -> None:
        """Queue ``item`` for a coming commit. Waits only while ``bound`` items are waiting; no
        checkpoint otherwise (a write costs no trip through the scheduler)."""
        while len(self._items) >= self._bound:
            if self._space is None:
                self._space = trio.Event()
            await self._space.wait()
        self._items.append(item)
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)       # the loop resumes in the asyncio loop's next step

    @property
    def waiting(self) -> int:
        return len(self._items)

    async def drain(self) -> None:
        """Return once every item put before is committed (or failed): the loop waits for more."""
        if self._wakeup is not None and not self._items:
            return
        if self._drained is None:
            self._drained = trio.Event()
        await self._drained.wait()

    async def run(self) -> None:
        """Commit until cancelled (then the connection is terminated)."""
        try:
            await trio_asyncio.aio_as_trio(self._serve)()
        finally:
            self._drop()

    async def _serve(self) -> None:             # asyncio
        loop = asyncio.get_running_loop()
        while True:
            if not self._items:
                if self._drained is not None:
                    self._drained.set()
                    self._drained = None
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
            batch = self._take()
            if self._space is not None:
                self._space.set()
                self._space = None
            started = time.perf_counter()
            error = await self._execute(self._plan(batch))
            kept: list[T] = []
            if error is None or len(batch) == 1 or isinstance(error, DatabaseUnavailable):
                kept.extend(self._done(batch, error, time.perf_counter() - started) or ())
            else:
                log.warning("group commit of %d items failed (%s); retrying them one by one", len(batch), error)
                for item in batch:
                    started = time.perf_counter()
                    error = await self._execute(self._plan([item]))
                    kept.extend(self._done([item], error, time.perf_counter() - started) or ())
            if kept:
                self._items.extendleft(reversed(kept))      # back at the head, in their order
                await asyncio.sleep(UNAVAILABLE_RETRY_S)

    def _take(self) -> list[T]:
        """The next batch: the items waiting, up to ``max_batch``, and with ``key`` one per key."""
        items = self._items
        if self._key is None:
            return [items.popleft() for _ in range(min(len(items), self._max_batch))]
        batch: list[T] = []
        later: list[T] = []
        keys: set[object] = set()
        # looks at most this far: a queue full of one key's items costs no more than a full batch
        for _ in range(min(len(items), self._max_batch * TAKE_LOOKAHEAD)):
            item = items.popleft()
            k = self._key(item)
            if k is None or k not in keys:
                if k is not None:
                    keys.add(k)
                batch.append(item)
                if len(batch) == self._max_batch:
                    break
            else:
                later.append(item)
        items.extendleft(reversed(later))      # back at the head, in their order
        return batch

    async def _execute(self, steps: Sequence[Step]) -> DatabaseError | None:     # asyncio
        try:
            if not self._usable():
                self._drop()
                self._conn = await self._pool.acquire()
            try:
                await _run_steps(self._conn, steps)
            except asyncpg.PostgresError:
                raise               # the statement failed; the connection is fine
            except BaseException:
                self._drop()
                raise
        except _DB_ERRORS as exc:
            return _map_error(exc)
        return None

    def _usable(self) -> bool:
        try:
            return self._conn is not None and not self._conn.is_closed()
        except asyncpg.InterfaceError:  # asyncpg gave it back to the pool when its socket closed
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.terminate()    # the pool gets the slot back (asyncpg's _release_on_close)
            except asyncpg.InterfaceError:
                pass                # given back already, when the server closed it


async def _hop(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)`` on the asyncio side, its errors as ``DatabaseError``."""
    try:
        return await trio_asyncio.aio_as_trio(call)(*args)
    except _DB_ERRORS as exc:
        raise _map_error(exc) from exc


class Transaction:
    """The statements of one open transaction (``Database.transaction``); each call is one hop."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await _hop(self._conn.fetch, sql, *args)
        return rows

    async def executemany(self, sql: str, arglists: Sequence[Sequence[Any]]) -> None:
        """``sql`` once per argument list, sent together (asyncpg pipelines them)."""
        if arglists:
            await _hop(self._conn.executemany, sql, arglists)


class Database:
    """A pool of connections, used from trio. Create with ``open_database``."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            rows: list[Row] = await trio_asyncio.aio_as_trio(self._pool.fetch)(sql, *args)
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = await trio_asyncio.aio_as_trio(self._pool.fetchrow)(sql, *args)
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await trio_asyncio.aio_as_trio(self._pool.fetchval)(sql, *args)
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc

    async def execute(self, sql: str, *args: Any) -> str:
        try:
            status: str = await trio_asyncio.aio_as_trio(self._pool.execute)(sql, *args)
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc
        return status

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One transaction on a connection of the pool, for a writer that reads what it writes
        next (the mail import): committed when the block ends, rolled back when it raises.

        Resource handling: the connection goes back to the pool on exit, shielded from
        cancellation. Error handling: what the database refuses, here and in the block's
        statements, is ``DatabaseError``; the block's own exceptions pass through unchanged.
        """
        try:
            conn = await trio_asyncio.aio_as_trio(self._pool.acquire)()
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc
        try:
            tx = conn.transaction()
            await _hop(tx.start)
            try:
                yield Transaction(conn)
            except BaseException:
                with trio.CancelScope(shield=True):
                    try:
                        await _hop(tx.rollback)
                    except DatabaseError:
                        pass        # the connection is gone: so is the transaction
                raise
            await _hop(tx.commit)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                try:
                    await trio_asyncio.aio_as_trio(self._pool.release)(conn)
                except _DB_ERRORS:
                    pass

    def commit_loop(self, plan: Callable[[list[T]], Sequence[Step]],
                    done: Callable[[list[T], DatabaseError | None, float], Sequence[T] | None], max_batch: int,
                    bound: int, key: Callable[[T], object] | None = None) -> CommitLoop[T]:
        """A ``CommitLoop`` on a connection of this pool (the Persister's); run it with ``run()``."""
        return CommitLoop(self._pool, plan, done, max_batch, bound, key)

    async def apply_schema(self, schema_sql: str) -> None:
        """Apply the idempotent schema under an advisory lock (engines may start together)."""

        async def run() -> None:
            async with self._pool.acquire() as conn:
                await conn.execute("SELECT pg_advisory_lock($1)", SCHEMA_LOCK_KEY)
                try:
                    await conn.execute(schema_sql)
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", SCHEMA_LOCK_KEY)

        try:
            await trio_asyncio.aio_as_trio(run)()
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[trio.MemoryReceiveChannel[str]]:
        """Notifications on ``channel`` (LISTEN) as a trio channel, on a connection held meanwhile.

        Payloads arrive in order; when the reader falls 64 behind, further ones are dropped
        (listeners here only need to know that something changed). The channel ends when the
        connection is lost (the server went away): the caller listens again, on a new connection.
        Raises ``DatabaseError``.
        """
        send, recv = trio.open_memory_channel[str](64)

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            # runs in the asyncio loop, which trio-asyncio drives on this same thread
            try:
                send.send_nowait(payload)
            except trio.WouldBlock:
                pass

        def on_lost(_conn: Any) -> None:
            send.close()    # the reader's loop ends: nothing more will come on this connection

        try:
            conn = await trio_asyncio.aio_as_trio(self._pool.acquire)()
            await trio_asyncio.aio_as_trio(conn.add_listener)(channel, on_notify)
            conn.add_termination_listener(on_lost)
        except _DB_ERRORS as exc:
            raise _map_error(exc) from exc
        try:
            yield recv
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                try:
                    conn.remove_termination_listener(on_lost)
                    await trio_asyncio.aio_as_trio(conn.remove_listener)(channel, on_notify)
                    await trio_asyncio.aio_as_trio(self._pool.release)(conn)
                except _DB_ERRORS:
                    pass

    async def ping(self) -> bool:
        try:
            with trio.fail_after(2):
                return bool(await self.fetchval("SELECT 1") == 1)
        except (DatabaseError, trio.TooSlowError):
            return False


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


# trio-asyncio runs ONE asyncio callback per wake-up of its loop task, and every wake-up waits for a
# whole round of the trio scheduler. A commit through asyncpg takes several callbacks, so on a busy
# engine each would cost a round, and a commit ten times what PostgreSQL spends on it. Like
# asyncio's own loop, run every callback that is already queued (up to READY_CALLBACKS_PER_ROUND)
# before giving the turn back to trio.
READY_CALLBACKS_PER_ROUND = 1000
_one_callback = trio_asyncio.TrioEventLoop._main_loop_one


async def _ready_callbacks(loop: Any, no_wait: bool = False) -> None:
    await _one_callback(loop, no_wait)
    if no_wait:
        return
    for _ in range(READY_CALLBACKS_PER_ROUND):
        if loop._stopped.is_set():
            return
        try:
            await _one_callback(loop, True)
        except trio.WouldBlock:
            return


trio_asyncio.TrioEventLoop._main_loop_one = _ready_callbacks


@asynccontextmanager
async def open_database(url: str) -> AsyncIterator[Database]:
    """Open the asyncio loop and a pool on ``url``; close them on exit. Raises ``DatabaseError``."""
    async with trio_asyncio.open_loop(), _open_pool(url) as db:
        yield db


@asynccontextmanager
async def _open_pool(url: str) -> AsyncIterator[Database]:
    try:
        pool = await trio_asyncio.aio_as_trio(asyncpg.create_pool)(
            url, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, init=_init_connection, reset=_keep_session,
            statement_cache_size=STATEMENT_CACHE_SIZE,
            # no idle timer: asyncpg would arm a 300-s call_later on every release and cancel it on the
            # next acquire; trio-asyncio keeps cancelled timers until they are due, so under load
            # ~100,000 of them (each holding a context) piled up in memory and in every GC pass
            max_inactive_connection_lifetime=0)
    except _DB_ERRORS as exc:
        raise DatabaseError(f"cannot connect to {redact(url)}: {exc}") from exc
    try:
        yield Database(pool)
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            try:
                await trio_asyncio.aio_as_trio(pool.close)()
            except _DB_ERRORS:
                pass
