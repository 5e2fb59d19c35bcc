"""The commit plan (engine/storage/commit_plan.py) in a real PostgreSQL through the Persister:
writes committed together as one statement and in rounds, a bad row failing only its own write
(the plans themselves: tests/unit/engine/storage/test_commit_plan.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.storage.commit_plan import Bulk
from frontdesk.engine.storage.db import Database, open_database
from frontdesk.engine.storage.persister import Persister

A = "INSERT INTO a (n) VALUES ($1)"
A_MANY = "INSERT INTO a (n) SELECT * FROM unnest($1::int[])"
B = "INSERT INTO b (n, note) VALUES ($1, $2)"
C = "UPDATE c SET n = $2 WHERE id = $1"
BULK = {A: Bulk(A_MANY)}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with open_database(database_url) as database:
        await database.execute("CREATE TABLE a (n int PRIMARY KEY CHECK (n >= 0))")
        await database.execute("CREATE TABLE b (n int PRIMARY KEY REFERENCES a (n), note text)")
        await database.execute("CREATE TABLE c (id int PRIMARY KEY, n int)")
        yield database


async def test_writes_committed_together_as_one_statement_and_in_rounds(db: Database) -> None:
    """Through the Persister: rows and the rows that refer to them, in one statement; a key's
    second write sees its first; a write that updates its own new row sees it too."""
    persister = Persister(db, BULK)
    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)

        async def three_writes(n: int) -> None:    # queued together: they commit in one batch
            await persister.post([(A, (n,)), (B, (n, f"note {n}"))], f"k{n}")
            await persister.post([("INSERT INTO c (id, n) VALUES ($1, 0)", (n,)), (C, (n, n))], f"k{n}")
            await persister.write([(C, (n, n * 10))], f"k{n}")

        async with trio.open_nursery() as writers:
            for n in range(20):
                writers.start_soon(three_writes, n)
        nursery.cancel_scope.cancel()
    assert [r["n"] for r in await db.fetch("SELECT n FROM a ORDER BY n")] == list(range(20))
    assert await db.fetchval("SELECT count(*) FROM b") == 20
    assert [r["n"] for r in await db.fetch("SELECT n FROM c ORDER BY id")] == [n * 10 for n in range(20)]


async def test_a_bad_row_in_a_joined_statement_fails_only_its_own_write(db: Database) -> None:
    persister = Persister(db, BULK)
    outcomes: dict[int, bool] = {}

    async def write(n: int) -> None:
        try:
            await persister.write([(A, (n,))], f"k{n}")
            outcomes[n] = True
        except DatabaseError:
            outcomes[n] = False

    async with trio.open_nursery() as nursery:
        await nursery.start(persister.run)
        async with trio.open_nursery() as writers:
            for n in (1, 2, -3, 4):
                writers.start_soon(write, n)
        nursery.cancel_scope.cancel()
    assert outcomes == {1: True, 2: True, -3: False, 4: True}
    assert [r["n"] for r in await db.fetch("SELECT n FROM a ORDER BY n")] == [1, 2, 4]
