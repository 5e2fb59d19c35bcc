"""The durable relay (benchmarks/baseline_durable.py): a message reaches the other peer only once
it is a committed row, in order, on a real PostgreSQL and real websockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest
import trio
from trio_websocket import ConnectionRejected, WebSocketConnection, open_websocket_url

from benchmarks.baseline_durable import TABLE, serve_durable_relay
from benchmarks.baseline_relay import relay_process
from benchmarks.latency import free_port
from frontdesk.engine.storage.db import open_database
from tests.e2e.conftest import Postgres


async def _rows(url: str) -> list[tuple[str, str, str]]:
    async with open_database(url) as db:
        rows = await db.fetch(f"SELECT pair, side, body FROM {TABLE} ORDER BY at, body")
    return [(r["pair"], r["side"], r["body"]) for r in rows]


@asynccontextmanager
async def _relay_pair(url: str, pair: int) -> AsyncIterator[tuple[WebSocketConnection, WebSocketConnection]]:
    """A durable relay in this process on ``url``, and the two sockets of one pair on it."""
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_durable_relay, url)
        base = f"ws://127.0.0.1:{port}/pair/{pair}"
        async with open_websocket_url(f"{base}/a") as a, open_websocket_url(f"{base}/b") as b:
            yield a, b
        nursery.cancel_scope.cancel()


def _send(client_id: str) -> str:
    return orjson.dumps({"type": "send", "client_id": client_id, "text": f"text of {client_id}"}).decode()


def _ack(client_id: str | None) -> str:
    return orjson.dumps({"type": "ack", "client_id": client_id}).decode()


async def test_messages_are_stored_before_they_are_forwarded_and_keep_their_order(postgres: Postgres) -> None:
    url = postgres.fresh()
    async with _relay_pair(url, 7) as (a, b):
        sent = [_send(f"a{i:02d}") for i in range(20)]
        for body in sent:
            await a.send_message(body)
        with trio.fail_after(10):
            got_b = [await b.get_message() for _ in range(20)]
            got_a = [await a.get_message() for _ in range(40)]
        assert got_b == sent
        # the sender gets, as from the engine, an ack and its own message back for each
        assert got_a == [frame for i, body in enumerate(sent) for frame in (_ack(f"a{i:02d}"), body)]
        await b.send_message("not json")
        with trio.fail_after(10):
            assert await a.get_message() == "not json"
            assert await b.get_message() == _ack(None)
        stored = await _rows(url)
        # every forwarded message was a committed row when it arrived
        assert {("7", "a", m) for m in sent} <= set(stored)
        assert ("7", "b", "not json") in stored


async def test_a_message_that_cannot_be_stored_is_never_forwarded(postgres: Postgres) -> None:
    url = postgres.fresh()
    async with _relay_pair(url, 8) as (a, b):
        # PostgreSQL's text cannot hold NUL: that row fails (alone: its batch is retried one by one)
        for body in ("ok1", "bad\x00", "ok2"):
            await a.send_message(body)
        with trio.fail_after(10):
            got = [await b.get_message() for _ in range(2)]
            echoed = [await a.get_message() for _ in range(4)]
        # forwarding follows commit order, so a forwarded "bad" would have come before "ok2"
        assert got == ["ok1", "ok2"]
        assert echoed == [_ack(None), "ok1", _ack(None), "ok2"]
        assert [r[2] for r in await _rows(url)] == ["ok1", "ok2"]


async def test_an_unknown_path_is_refused(postgres: Postgres) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_durable_relay, postgres.fresh())
        with pytest.raises(ConnectionRejected) as refused:
            async with open_websocket_url(f"ws://127.0.0.1:{port}/nowhere"):
                pass
        assert refused.value.status_code == 404
        nursery.cancel_scope.cancel()


async def test_the_relay_process_with_a_database_url_is_the_durable_relay(postgres: Postgres) -> None:
    """What ``python -m benchmarks.load --durable-relay`` starts: the relay's own process."""
    url = postgres.fresh()
    with relay_process(free_port(), database_url=url, ready_timeout_s=30.0) as (port, _pid):
        base = f"ws://127.0.0.1:{port}/pair/9"
        async with open_websocket_url(f"{base}/a") as a, open_websocket_url(f"{base}/b") as b:
            await a.send_message("hello")
            with trio.fail_after(10):
                assert await b.get_message() == "hello"
    assert [r[2] for r in await _rows(url)] == ["hello"]
