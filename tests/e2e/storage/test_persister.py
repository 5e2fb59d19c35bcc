"""The Persister (engine/storage/persister.py) against a real PostgreSQL: writes that wait together share
one commit, a failing write fails alone, and a waiter learns its outcome only after COMMIT."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.storage.commit_plan import join
from frontdesk.engine.storage.db import Database, open_database
from frontdesk.engine.storage.persister import Persister

INSERT = "INSERT INTO persister_probe (n) VALUES ($1)"


async def numbers(db: Database) -> list[int]:
    return [r["n"] for r in await db.fetch("SELECT n FROM persister_probe ORDER BY n")]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with open_database(database_url) as database:
        await database.execute("CREATE TABLE persister_probe (n int PRIMARY KEY CHECK (n >= 0))")
        yield database


async def test_writes_waiting_together_commit_and_a_bad_one_fails_alone(db: Database) -> None:
    persister = Persister(db)
    outcomes: dict[str, str] = {}

    async def write(label: str, n: int) -> None:
        try:
            await persister.write([(INSERT, (n,))], key=label)
        except DatabaseError:
            outcomes[label] = "failed"
        else:
            outcomes[label] = "stored"
            assert n in await numbers(db)   # acknowledged means committed

    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        async with trio.open_nursery() as writers:
            # -3 breaks the CHECK, the second 2 the primary key; all five wait for one commit
            for label, n in (("one", 1), ("two", 2), ("minus-three", -3), ("four", 4), ("two-again", 2)):
                writers.start_soon(write, label, n)
        nursery.cancel_scope.cancel()
    twos = sorted([outcomes.pop("two"), outcomes.pop("two-again")])
    assert twos == ["failed", "stored"]     # whichever came first is stored, the other is refused
    assert outcomes == {"one": "stored", "minus-three": "failed", "four": "stored"}
    assert await numbers(db) == [1, 2, 4]


async def test_a_cancelled_waiter_leaves_the_write_to_commit(db: Database) -> None:
    persister = Persister(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        with trio.CancelScope() as scope:
            scope.cancel()          # cancelled before it could wait: the write may or may not be queued
            await persister.write([(INSERT, (7,))])
        await persister.write([(INSERT, (8,))])     # the Persister goes on; later writes commit
        await persister.post([(INSERT, (9,))])
        await persister.write([(INSERT, (10,))])   # after the post, in order: the post is committed too
        nursery.cancel_scope.cancel()
    assert {8, 9, 10} <= set(await numbers(db))


async def test_writes_of_parent_and_child_rows_commit_together(db: Database) -> None:
    """Each write inserts a parent and its child (a foreign key): taken column by column, every
    parent still precedes its child."""
    await db.execute("CREATE TABLE probe_child (n int PRIMARY KEY REFERENCES persister_probe (n))")
    persister = Persister(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        async with trio.open_nursery() as writers:
            for n in range(20):
                writers.start_soon(persister.write, [(INSERT, (n,)), ("INSERT INTO probe_child VALUES ($1)", (n,))])
        nursery.cancel_scope.cancel()
    assert await numbers(db) == list(range(20))
    assert await db.fetchval("SELECT count(*) FROM probe_child") == 20


async def test_inserts_in_one_statement_are_one_atomic_round_trip(db: Database) -> None:
    """commit_plan.join, as a group commit joins a round: a child may refer to its parent, and
    when one part fails nothing is stored."""
    await db.execute("CREATE TABLE probe_child (n int PRIMARY KEY REFERENCES persister_probe (n), note text)")
    child = "INSERT INTO probe_child (n, note) VALUES ($1, $2)"
    sql, args = join((INSERT, (5,)), (child, (5, "five")))
    assert sql.count("$") == 3 and args == (5, 5, "five")
    persister = Persister(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        await persister.write([(sql, args)])
        with pytest.raises(DatabaseError):   # the parent breaks the CHECK: its child is not stored either
            await persister.write([join((INSERT, (-6,)), (child, (-6, "minus six")))])
        nursery.cancel_scope.cancel()
    assert await numbers(db) == [5]
    assert await db.fetchval("SELECT note FROM probe_child WHERE n = 5") == "five"


async def test_a_broken_connection_fails_at_most_its_batch_and_the_next_commit_takes_a_fresh_one(
        db: Database) -> None:
    """PostgreSQL cuts the Persister's connection while it sits idle (a restarted server, a network
    fault). The write that finds it cut fails (``DatabaseError``: the client retries), unless asyncpg
    noticed first and the write goes out on a fresh connection; either way the writes after it are
    stored. (Before, a connection that asyncpg had given back to the pool stuck: every later write
    failed.)"""
    persister = Persister(db)
    stored: list[int] = []

    async def write(n: int) -> None:
        try:
            await persister.write([(INSERT, (n,))])
            stored.append(n)
        except DatabaseError:
            pass

    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        await write(1)
        for n in (2, 4):
            # every other backend of this database is the Persister's connection (the pool's idle
            # ones reconnect on their own)
            wait_ms = 5000 if n == 4 else 0     # 4: wait until the backend is gone, then let asyncpg
            await db.execute("SELECT pg_terminate_backend(pid, $1) FROM pg_stat_activity "   # see the close
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()", wait_ms)
            if n == 4:
                await trio.testing.wait_all_tasks_blocked()
            await write(n)
            await write(n + 1)
            assert n + 1 in stored
        nursery.cancel_scope.cancel()
    assert await numbers(db) == stored and {1, 3, 5} <= set(stored)


async def test_a_full_inbox_holds_the_writer_back_until_the_loop_takes_a_batch(db: Database) -> None:
    committed: list[int] = []
    all_in = trio.Event()

    def done(batch: list[int], error: DatabaseError | None, _seconds: float) -> None:
        assert error is None
        committed.extend(batch)
        if len(committed) == 4:
            all_in.set()

    loop = db.commit_loop(lambda batch: [(INSERT, [(n,) for n in batch])], done, max_batch=2, bound=2)
    await loop.put(1)
    await loop.put(2)
    queued: list[int] = []

    async def put(n: int) -> None:
        await loop.put(n)
        queued.append(n)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(put, 3)
        await trio.testing.wait_all_tasks_blocked()
        assert queued == []                     # two wait and the loop is not running: no room
        nursery.start_soon(loop.run)
        await loop.put(4)                       # waits, if need be, until the loop takes a batch
        await all_in.wait()
        assert queued == [3]
        nursery.cancel_scope.cancel()
    assert committed[:2] == [1, 2]
    assert await numbers(db) == [1, 2, 3, 4]


async def test_a_batch_takes_one_item_per_key_and_a_keys_next_items_follow_in_order(db: Database) -> None:
    """Items of one key never share a batch (they would need a transaction of statements one after
    the other); they commit in order, and items of other keys behind them are not held back."""
    batches: list[list[int]] = []
    all_in = trio.Event()

    def done(batch: list[tuple[str | None, int]], error: DatabaseError | None, _seconds: float) -> None:
        assert error is None
        batches.append([n for _, n in batch])
        if sum(map(len, batches)) == 7:
            all_in.set()

    loop = db.commit_loop(lambda batch: [(INSERT, [(n,) for _, n in batch])], done, max_batch=10, bound=100,
                          key=lambda item: item[0])
    for item in (("a", 1), ("a", 2), ("b", 3), (None, 4), ("a", 5), (None, 6), ("c", 7)):
        await loop.put(item)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(loop.run)
        await all_in.wait()
        nursery.cancel_scope.cancel()
    assert batches == [[1, 3, 4, 6, 7], [2], [5]]
    assert await numbers(db) == [1, 2, 3, 4, 5, 6, 7]


async def test_a_batch_of_one_key_per_write_keeps_max_batch(db: Database) -> None:
    batches: list[list[int]] = []
    all_in = trio.Event()

    def done(batch: list[tuple[str, int]], error: DatabaseError | None, _seconds: float) -> None:
        batches.append([n for _, n in batch])
        if sum(map(len, batches)) == 5:
            all_in.set()

    loop = db.commit_loop(lambda batch: [(INSERT, [(n,) for _, n in batch])], done, max_batch=2, bound=100,
                          key=lambda item: item[0])
    for item in (("a", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)):
        await loop.put(item)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(loop.run)
        await all_in.wait()
        nursery.cancel_scope.cancel()
    assert batches == [[1, 3], [2, 4], [5]]
