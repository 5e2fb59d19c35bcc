"""A clean stop (SIGTERM, as ``make run``'s Ctrl-C sends it): every websocket is closed with 1001
(going away), what was queued is committed, one line is logged, and the process exits 0."""

from __future__ import annotations

import uuid
from pathlib import Path

import trio
from conftest import Postgres, accept_next, agent, connect
from engine_process import EngineProcess

from frontdesk.engine.storage.db import open_database

CLOSE_GOING_AWAY = 1001


async def test_sigterm_closes_every_socket_with_1001_commits_what_is_queued_and_exits_0(
        postgres: Postgres, tmp_path: Path) -> None:
    process = EngineProcess(postgres.fresh(), tmp_path / "data", tmp_path / "engine.log")
    engine = await process.start()
    try:
        async with agent(engine, 1) as a1:
            chat = await engine.start_chat()
            cid = chat["conversation_id"]
            await accept_next(a1, cid)
            async with connect(engine, chat["customer_token"], "customer") as cu:
                acked = await cu.send_text(None, "the last message before the stop")
                await a1.send({"type": "presence", "state": "away"})    # a write the Router only queues
                await a1.expect("presence", state="away")
                status = await trio.to_thread.run_sync(process.terminate)
                assert await cu.closed_code() == CLOSE_GOING_AWAY
                assert await a1.closed_code() == CLOSE_GOING_AWAY
    finally:
        process.kill()
    log = process.log_path.read_text(errors="replace")
    assert status == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    stopped = [line for line in log.splitlines() if "stopped:" in line]
    assert len(stopped) == 1 and "every write committed" in stopped[0], log[-3000:]
    async with open_database(process.database_url) as db:
        texts = [r["text"] for r in await db.fetch("SELECT text FROM messages WHERE conversation_id = $1",
                                                   uuid.UUID(cid))]
        away = await db.fetchval("SELECT count(*) FROM presence_log l JOIN staff s ON s.id = l.agent_id "
                                 "WHERE s.email = 'agent1@demo.test' AND l.state = 'away'")
    assert "the last message before the stop" in texts and acked["seq"] == 2
    assert away == 1
