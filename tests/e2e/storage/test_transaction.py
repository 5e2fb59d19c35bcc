"""``Database.transaction`` (engine/storage/db.py) against a real PostgreSQL: what the block writes
is committed when it ends and rolled back when it raises; the block's own exception passes
through unchanged, and what the database refuses is a ``DatabaseError``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from frontdesk.engine.storage.db import Database, UniqueViolation, open_database

INSERT = "INSERT INTO transaction_probe (n) VALUES ($1)"


async def numbers(db: Database) -> list[int]:
    return [r["n"] for r in await db.fetch("SELECT n FROM transaction_probe ORDER BY n")]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with open_database(database_url) as database:
        await database.execute("CREATE TABLE transaction_probe (n int PRIMARY KEY)")
        yield database


async def test_a_block_that_ends_commits_what_it_wrote_and_reads_its_own_writes(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.executemany(INSERT, [(1,), (2,)])
        assert [r["n"] for r in await tx.fetch("SELECT n FROM transaction_probe ORDER BY n")] == [1, 2]
    assert await numbers(db) == [1, 2]


async def test_a_block_that_raises_leaves_nothing_and_its_exception_passes_unchanged(db: Database) -> None:
    class Stop(Exception):
        pass

    with pytest.raises(Stop):
        async with db.transaction() as tx:
            await tx.executemany(INSERT, [(1,), (2,)])
            raise Stop
    assert await numbers(db) == []


async def test_a_refused_statement_is_a_database_error_and_rolls_the_block_back(db: Database) -> None:
    with pytest.raises(UniqueViolation):
        async with db.transaction() as tx:
            await tx.executemany(INSERT, [(1,)])
            await tx.executemany(INSERT, [(1,)])
    assert await numbers(db) == []
    async with db.transaction() as tx:      # the pool's connection is fine afterwards
        await tx.executemany(INSERT, [(3,)])
    assert await numbers(db) == [3]
