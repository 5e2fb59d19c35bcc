"""The engine while its PostgreSQL is unreachable (PROTOCOL.md §13): a ``hello`` is answered
``unavailable`` and closed with 1013, on the listener's own websocket server and on Quart's ``/ws``
alike, and once the database is back the same engine serves as before.

The outage is real: the test database refuses new connections (``ALLOW_CONNECTIONS false``) and
its backends are terminated, from a connection to the ``postgres`` database.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio
from conftest import Engine, Postgres, agent, connect
from rawws import RawClient, read_response
from wsproto.events import AcceptConnection, CloseConnection, TextMessage


@asynccontextmanager
async def database_unreachable(postgres: Postgres, database_url: str) -> AsyncIterator[None]:
    found = re.search(r"@/(\w+)\?", database_url)
    assert found is not None
    name = found[1]
    await trio.to_thread.run_sync(postgres.psql, f"""
        ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;
        SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
         WHERE datname = '{name}' AND pid <> pg_backend_pid();""")
    try:
        yield
    finally:
        await trio.to_thread.run_sync(postgres.psql, f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true;")


async def hello_on_the_front_door(engine: Engine, token: str) -> tuple[dict[str, Any], int | None]:
    async with connect(engine, None, hello=False) as c:
        await c.send({"type": "hello", "token": token})
        return await c.expect("error"), await c.closed_code()


async def hello_on_quart(engine: Engine, token: str) -> tuple[dict[str, Any], int | None]:
    """An upgrade after a plain request on one keep-alive connection is served by Quart's ``/ws``."""
    client = await RawClient.open(engine)
    await client.stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert (await read_response(client.stream)).startswith(b"HTTP/1.1 503")
    assert isinstance(await client.handshake(), AcceptConnection)
    await client.send(TextMessage(orjson.dumps({"type": "hello", "token": token}).decode()))
    error = await client.frame("error")
    close = next((e for e in client.events if isinstance(e, CloseConnection)), None)
    if close is None:
        close = await client.next_event(CloseConnection)
    assert isinstance(close, CloseConnection)
    return error, close.code


@pytest.mark.parametrize("hello", [hello_on_the_front_door, hello_on_quart], ids=["front-door", "quart"])
async def test_hello_while_the_database_is_unreachable_is_unavailable_and_the_engine_serves_on(
        engine: Engine, postgres: Postgres, database_url: str, hello: Any) -> None:
    async with agent(engine, 1):
        chat = await engine.start_chat()
    async with database_unreachable(postgres, database_url):
        error, close_code = await hello(engine, chat["customer_token"])
        assert error["code"] == "unavailable" and error["message"]
        assert close_code == 1013
    # the database is back: the same engine takes a fresh chat, offers it and welcomes both customers
    async with agent(engine, 1) as a1:
        fresh = await engine.start_chat(name="Fred Fresh", email="fred@example.com")
        await a1.expect("offer", conversation_id=fresh["conversation_id"])
        for token in (fresh["customer_token"], chat["customer_token"]):
            async with connect(engine, token, "customer") as cu:
                assert cu.info["conversation"]["status"] == "queued"
