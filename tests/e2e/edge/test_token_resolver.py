"""The TokenResolver (engine/edge/token_resolver.py) against a real PostgreSQL: hellos that wait
together are answered by one query, each with its own subject; unknown and expired tokens are
None; a failed query fails its batch only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import trio
import trio.testing

from frontdesk.core import auth
from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.edge.token_resolver import TokenResolver
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Row, open_database


class CountingDatabase(Database):
    """The real database, counting the queries the resolver makes."""

    def __init__(self, db: Database):
        super().__init__(db._pool)
        self.fetches = 0

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self.fetches += 1
        return await super().fetch(sql, *args)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[CountingDatabase]:
    async with open_database(database_url) as database:
        yield CountingDatabase(database)


async def staff_token(db: Database, email: str, valid_for: timedelta = timedelta(hours=1)) -> tuple[str, str]:
    """A fresh token for the demo staff member ``email``: (token, staff id)."""
    staff_id = str(await db.fetchval("SELECT id FROM staff WHERE email = $1", email))
    token, token_hash = auth.new_token()
    kind = "agent" if email.startswith("agent") else "supervisor"
    sql, args = queries.insert_token(token_hash, kind, staff_id, utc_now() + valid_for)
    await db.execute(sql, *args)
    return token, staff_id


async def test_hellos_waiting_together_share_one_query_and_each_gets_its_subject(db: CountingDatabase) -> None:
    emails = [str(r["email"]) for r in await db.fetch("SELECT email FROM staff WHERE role = 'agent' ORDER BY email")]
    tokens = [await staff_token(db, e) for e in emails]
    expired, _ = await staff_token(db, emails[0], valid_for=timedelta(seconds=-1))
    asked = [*tokens, (expired, None), ("no-such-token", None), tokens[0]]   # the first token twice
    resolver = TokenResolver(db)
    answers: dict[int, Row | None] = {}

    async def hello(i: int, token: str) -> None:
        answers[i] = await resolver.resolve(auth.token_hash(token))

    db.fetches = 0
    async with trio.open_nursery() as nursery:
        async with trio.open_nursery() as hellos:
            for i, (token, _) in enumerate(asked):
                hellos.start_soon(hello, i, token)
            await trio.testing.wait_all_tasks_blocked()    # every hello waits before the resolver runs
            await nursery.start(resolver.run)
        nursery.cancel_scope.cancel()
    assert db.fetches == 1
    for i, (_, staff_id) in enumerate(asked):
        row = answers[i]
        if staff_id is None:
            assert row is None
        else:
            assert row is not None and str(row["subject_id"]) == staff_id
            assert row["kind"] == "agent" and row["role"] == "agent" and row["email"] in emails
            assert list(row["queues"]) == sorted(row["queues"])


async def test_a_failed_query_fails_its_batch_and_the_next_batch_is_answered(db: CountingDatabase) -> None:
    email = await db.fetchval("SELECT min(email) FROM staff WHERE role = 'agent'")
    token, staff_id = await staff_token(db, str(email))
    resolver = TokenResolver(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(resolver.run)
        await db.execute("ALTER TABLE tokens RENAME TO tokens_away")
        for _ in range(2):
            with pytest.raises(DatabaseError):
                await resolver.resolve(auth.token_hash(token))
        await db.execute("ALTER TABLE tokens_away RENAME TO tokens")
        row = await resolver.resolve(auth.token_hash(token))
        assert row is not None and str(row["subject_id"]) == staff_id
        nursery.cancel_scope.cancel()
