"""The Persister (engine/persister.py) against a real PostgreSQL: writes that wait together share
one commit, a failing write fails alone, and a waiter learns its outcome only after COMMIT."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from frontdesk.engine.db import Database, open_database
from frontdesk.engine.errors import DatabaseError
from frontdesk.engine.persister import Persister, Write, interleave
from frontdesk.engine.queries import in_one_statement

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


def test_interleave_groups_equal_writes_column_by_column_and_keeps_each_keys_order() -> None:
    a, b, c = "INSERT INTO a", "INSERT INTO b", "UPDATE c"
    batch = [Write([(a, (1,)), (b, (1,))], None, "k1"), Write([(c, (2,))], None, "k1"),
             Write([(a, (3,)), (b, (3,))], None, "k2"), Write([(c, (4,))], None, "k2"),
             Write([(a, (5,)), (b, (5,))], None, "k1"), Write([(c, (6,))], None, None),
             Write([(a, (7,)), (b, (7,))], None, None)]
    # round 1: the first write of each key and every write without a key, shape by shape in the
    # order shapes first appear; round 2: k1's and k2's second writes; round 3: k1's third
    assert interleave(batch) == [
        (a, (1,)), (a, (3,)), (a, (7,)), (b, (1,)), (b, (3,)), (b, (7,)), (c, (6,)),
        (c, (2,)), (c, (4,)),
        (a, (5,)), (b, (5,))]


def test_interleave_keeps_arrival_order_within_a_group() -> None:
    a = "INSERT INTO a"
    batch = [Write([(a, (n,))], None, f"k{n}") for n in range(5)]
    assert interleave(batch) == [(a, (n,)) for n in range(5)]


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
    """queries.in_one_statement, as chat creation uses it: a child may refer to its parent, and
    when one part fails nothing is stored."""
    await db.execute("CREATE TABLE probe_child (n int PRIMARY KEY REFERENCES persister_probe (n), note text)")
    child = "INSERT INTO probe_child (n, note) VALUES ($1, $2)"
    sql, args = in_one_statement((INSERT, (5,)), (child, (5, "five")))
    assert sql.count("$") == 3 and args == (5, 5, "five")
    persister = Persister(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        await persister.write([(sql, args)])
        with pytest.raises(DatabaseError):   # the parent breaks the CHECK: its child is not stored either
            await persister.write([in_one_statement((INSERT, (-6,)), (child, (-6, "minus six")))])
        nursery.cancel_scope.cancel()
    assert await numbers(db) == [5]
    assert await db.fetchval("SELECT note FROM probe_child WHERE n = 5") == "five"
