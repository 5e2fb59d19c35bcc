"""The durable relay (benchmarks/baseline_durable.py): a message reaches the other peer only once
it is a committed row, in order, on a real PostgreSQL and real websockets."""

from __future__ import annotations

import asyncpg
import orjson
import trio
import trio_asyncio
from trio_websocket import open_websocket_url

from benchmarks.baseline_durable import TABLE, serve_durable_relay
from benchmarks.baseline_relay import relay_process
from benchmarks.latency import free_port
from tests.conftest import Postgres


async def _rows(url: str) -> list[tuple[str, str, str]]:
    async def read() -> list[tuple[str, str, str]]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(f"SELECT pair, side, body FROM {TABLE} ORDER BY at, body")
        finally:
            await conn.close()
        return [(r["pair"], r["side"], r["body"]) for r in rows]

    async with trio_asyncio.open_loop():
        return await trio_asyncio.aio_as_trio(read)()


def _send(client_id: str) -> str:
    return orjson.dumps({"type": "send", "client_id": client_id, "text": f"text of {client_id}"}).decode()


def _ack(client_id: str) -> str:
    return orjson.dumps({"type": "ack", "client_id": client_id}).decode()


async def test_messages_are_stored_before_they_are_forwarded_and_keep_their_order(postgres: Postgres) -> None:
    url = postgres.fresh()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_durable_relay, url)
        base = f"ws://127.0.0.1:{port}/pair/7"
        async with open_websocket_url(f"{base}/a") as a, open_websocket_url(f"{base}/b") as b:
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
                assert await b.get_message() == _ack_none()
            stored = await _rows(url)
            # every forwarded message was a committed row when it arrived
            assert {("7", "a", m) for m in sent} <= set(stored)
            assert ("7", "b", "not json") in stored
        nursery.cancel_scope.cancel()


def _ack_none() -> str:
    return orjson.dumps({"type": "ack", "client_id": None}).decode()


async def test_a_message_that_cannot_be_stored_is_never_forwarded(postgres: Postgres) -> None:
    url = postgres.fresh()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_durable_relay, url)
        base = f"ws://127.0.0.1:{port}/pair/8"
        async with open_websocket_url(f"{base}/a") as a, open_websocket_url(f"{base}/b") as b:
            # PostgreSQL's text cannot hold NUL: that row fails (alone: its batch is retried one by one)
            for body in ("ok1", "bad\x00", "ok2"):
                await a.send_message(body)
            with trio.fail_after(10):
                got = [await b.get_message() for _ in range(2)]
                echoed = [await a.get_message() for _ in range(4)]
            # forwarding follows commit order, so a forwarded "bad" would have come before "ok2"
            assert got == ["ok1", "ok2"]
            assert echoed == [_ack_none(), "ok1", _ack_none(), "ok2"]
            assert [r[2] for r in await _rows(url)] == ["ok1", "ok2"]
        nursery.cancel_scope.cancel()


async def test_an_unknown_path_is_refused(postgres: Postgres) -> None:
    from trio_websocket import HandshakeError

    url = postgres.fresh()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_durable_relay, url)
        try:
            async with open_websocket_url(f"ws://127.0.0.1:{port}/nowhere"):
                raise AssertionError("the handshake should have been refused")
        except HandshakeError as exc:
            assert "404" in str(exc) or getattr(exc, "status_code", 404) == 404
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
