"""A websocket lives no longer than the token its hello named: when the token expires the socket
gets ``error`` ``unauthenticated`` and is closed with 1008, and the same token cannot say hello."""

from __future__ import annotations

from datetime import timedelta

from conftest import Engine, connect
from test_token_resolver import staff_token

from frontdesk.engine.storage.db import open_database

CLOSE_POLICY = 1008


async def test_a_socket_is_closed_when_its_token_expires(engine: Engine, database_url: str) -> None:
    async with open_database(database_url) as db:
        token, _ = await staff_token(db, "agent1@demo.test", valid_for=timedelta(seconds=2))
    async with connect(engine, token, "agent with a short token") as a:
        assert a.info["role"] == "agent"
        error = await a.expect("error", timeout=10)
        assert error["code"] == "unauthenticated" and "expired" in error["message"]
        assert await a.closed_code() == CLOSE_POLICY
    async with connect(engine, token, "again", hello=False) as again:
        await again.send({"type": "hello", "token": token})
        assert (await again.expect("error"))["code"] == "unauthenticated"
        assert await again.closed_code() == CLOSE_POLICY
