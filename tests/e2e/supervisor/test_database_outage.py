"""A PostgreSQL outage is a state, not a crash: the real postmaster of a PostgreSQL of this test's
own is stopped under a live chat and started again, and the engine lives through it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import Client, Engine, accept_next, agent, connect, make_config, running_engine

from frontdesk.engine.storage.db import open_database


class OwnPostgres:
    """A PostgreSQL whose postmaster this test may stop and start."""

    def __init__(self) -> None:
        import pgserver

        self._pgserver = pgserver
        self.server = pgserver.get_server(tempfile.mkdtemp(prefix="fdtest-outage-"), cleanup_mode="delete")
        self.server.psql("CREATE DATABASE outage;")
        self.url = self.server.get_uri().replace("@/postgres?", "@/outage?")

    def stop(self) -> None:
        user = {"user": self.server.system_user} if self.server.system_user else {}
        self._pgserver.pg_ctl(["stop", "-m", "fast", "-w"], pgdata=self.server.pgdata, **user)

    def start(self) -> None:
        self.server.ensure_postgres_running()


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    yield pg
    pg.server.cleanup()


async def health(engine: Engine) -> tuple[int, Any]:
    async with engine.http() as http:
        r = await http.get("/healthz")
        return r.status_code, r.json()


async def until_healthy(engine: Engine) -> None:
    with trio.fail_after(20):
        while (await health(engine))[0] != 200:  # noqa: ASYNC110  # /healthz is what a balancer sees
            await trio.sleep(0.05)


async def queue_open(engine: Engine, name: str) -> bool:
    async with engine.http() as http:
        return bool((await http.get(f"/api/queues/{name}")).json()["open"])


async def send_until_acked(c: Client, frame: dict[str, Any]) -> dict[str, Any]:
    """What a client does with a send answered ``unavailable``: the same frame again, until acked."""
    with trio.fail_after(20):
        while True:
            await c.send(frame)
            ack_or_error = await c.expect_one_of({"ack", "error"}, timeout=10)
            if ack_or_error["type"] == "ack":
                return ack_or_error
            assert ack_or_error["code"] == "unavailable", ack_or_error
            await trio.sleep(0.1)


async def test_the_engine_lives_through_a_database_outage_and_loses_nothing(own_postgres: OwnPostgres,
                                                                           tmp_path: Path) -> None:
    config = make_config(own_postgres.url, tmp_path / "data", demo=True)
    async with running_engine(config) as engine, agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        async with connect(engine, chat["customer_token"], "customer") as cu:
            before = await cu.send_text(None, "before the outage")
            await a1.expect("message", conversation_id=cid, seq=before["seq"])

            await trio.to_thread.run_sync(own_postgres.stop)
            assert await health(engine) == (503, {"status": "degraded", "database": "down"})
            during = {"type": "send", "client_id": uuid.uuid4().hex, "text": "sent while the database is down"}
            await cu.send(during)
            refused = await cu.expect("error", timeout=15)
            assert refused["code"] == "unavailable" and refused["ref"] == during["client_id"]
            await cu.send({"type": "end"})
            assert (await cu.expect("error", timeout=15))["code"] == "unavailable"
            await a1.send({"type": "presence", "state": "away"})     # the Router's write waits for the database
            await a1.expect("presence", state="away")

            await trio.to_thread.run_sync(own_postgres.start)
            await until_healthy(engine)
            ack = await send_until_acked(cu, during)
            assert ack["seq"] == before["seq"] + 1
            assert (await a1.expect("message", conversation_id=cid, seq=ack["seq"]))["text"] == during["text"]
            await cu.send({"type": "end"})
            await a1.expect("ended", conversation_id=cid)
        assert (await engine.start_chat(question="after the outage"))["status"] == "queued"
        # a setting edited after the outage (the dashboard's way: the table) still reaches the engine
        async with open_database(own_postgres.url) as db:
            await db.execute("""UPDATE queues SET opening_hours = '{"never": true}' WHERE name = 'support'""")
        with trio.fail_after(15):
            while await queue_open(engine, "support"):  # noqa: ASYNC110  # the queue's state is what a client sees
                await trio.sleep(0.05)
    async with open_database(own_postgres.url) as db:
        texts = [r["text"] for r in await db.fetch("SELECT text FROM messages WHERE conversation_id = $1 "
                                                   "ORDER BY seq", uuid.UUID(cid))]
        presences = [r["presence"] for r in await db.fetch(
            "SELECT l.state AS presence FROM presence_log l JOIN staff s ON s.id = l.agent_id "
            "WHERE s.email = 'agent1@demo.test' ORDER BY l.at")]
        status = await db.fetchval("SELECT status FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert texts == ["Where is my order?", "before the outage", during["text"]]
    assert "away" in presences
    assert status == "ended"
