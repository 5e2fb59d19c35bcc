"""Every statement's form for many rows (``queries.BULK``) leaves the tables exactly as its one-row
statements, run one by one, do: on the real schema, with the engine's own statement functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Statement, open_database

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# columns that PostgreSQL fills with now(): they differ between two transactions by nature
NOW_COLUMNS = {"updated_at", "created_at"}


def agent_status(agent_id: str, *row: Any) -> Statement:
    """One agent's row in the one-row form of ``queries.upsert_agent_statuses`` (the engine writes only
    the form for many rows; the one-row form it is registered under is what it must equal)."""
    many = queries.upsert_agent_statuses([])[0]
    one_row = next(sql for sql, form in queries.BULK.items() if form.sql == many)
    return one_row, (uuid.UUID(agent_id), *row)


def stages(agents: list[str]) -> list[list[Statement]]:
    """A chat's life for three conversations, stage by stage; a stage's statements share one SQL."""
    cids = [str(uuid.uuid4()) for _ in range(3)]
    offers = [str(uuid.uuid4()) for _ in range(3)]
    messages: list[Statement] = []
    for i, cid in enumerate(cids):
        for seq in (1, 2):
            messages.append(queries.insert_message({
                "id": str(uuid.uuid4()), "conversation_id": cid, "seq": seq,
                "sender": ({"kind": "customer", "id": None, "name": f"Customer {i}"} if seq == 1 else
                           {"kind": "agent", "id": agents[i], "name": "Agent"}),
                "client_id": f"c{i}-{seq}" if i else None, "text": f"text {i}.{seq}", "private": seq == 2 and i == 1,
                "attachments": [{"id": str(uuid.uuid4()), "filename": "a.png", "size": 3}] if i == 2 else [],
                "options": [{"id": "yes", "label": "Yes"}] if i == 1 else None,
                "option_id": "yes" if i == 0 and seq == 2 else None, "_at": T0 + timedelta(seconds=seq)},
                "customer" if seq == 1 else agents[i]))
    at = T0 + timedelta(minutes=1)
    return [
        [queries.insert_conversation(cid, "support", f"Customer {i}", f"c{i}@example.com",
                                     [[], ["email"], ["email", "name"]][i], {"order": f"A-{i}"} if i else {},
                                     100 + i, T0, T0 if i == 1 else None) for i, cid in enumerate(cids)],
        [queries.insert_token(uuid.uuid4().bytes, "customer", cid, T0 + timedelta(days=1)) for cid in cids],
        messages,
        [queries.insert_offer(o, cid, agents[i], T0, T0 + timedelta(seconds=30))
         for i, (o, cid) in enumerate(zip(offers, cids, strict=True))],
        [queries.close_offer(o, outcome, reason, at)
         for o, outcome, reason in zip(offers, ("accepted", "rejected", "revoked"), (None, "busy", "x"), strict=True)],
        *zip(*(queries.assign_conversation(cid, agents[i], at) for i, cid in enumerate(cids)), strict=True),
        # a second assignment keeps the first acceptance time and takes the participant row over
        *zip(*(queries.assign_conversation(cids[0], agents[1], at + timedelta(seconds=5)),), strict=True),
        [queries.set_read(cid, "customer", None, 2) for cid in cids],
        [queries.set_read(cids[0], "customer", None, 1)],        # greatest(): reading back changes nothing
        [queries.set_read(cid, "agent", agents[i], 2) for i, cid in enumerate(cids)],
        # a messaging conversation's life: its newest activity, set aside (pending or resolved, the
        # owner kept as the last one, every agent gone), reopened by its customer
        [queries.touch_conversation(cid, at + timedelta(seconds=10 + i)) for i, cid in enumerate(cids)],
        *zip(*(queries.set_aside(cid, status, at + timedelta(seconds=20))
               for cid, status in zip(cids, ("pending", "resolved", "resolved"), strict=True)), strict=True),
        [queries.reopen_conversation(cid, 200 + i, at + timedelta(seconds=30)) for i, cid in enumerate(cids[1:])],
        *zip(*(queries.assign_conversation(cid, agents[i], at + timedelta(seconds=40)) for i, cid in enumerate(cids)),
             strict=True),
        *zip(*(queries.end_conversation(cid, "agent", "done", at + timedelta(minutes=1)) for cid in cids[:2]),
             strict=True),
        [agent_status(a, "available", i, 1, 0, 5) for i, a in enumerate(agents)],
        [agent_status(a, "away", 2, 0, 1, 3) for a in agents[:2]],   # the update path
    ]


async def tables(db: Database) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table, order in (("conversations", "id"), ("messages", "id"), ("tokens", "token_hash"), ("offers", "id"),
                         ("participants", "conversation_id, agent_id"), ("agent_status", "agent_id")):
        rows = await db.fetch(f"SELECT * FROM {table} ORDER BY {order}")
        out[table] = [{k: v for k, v in r.items() if k not in NOW_COLUMNS} for r in rows]
    return out


async def run(db: Database, steps: Sequence[Statement]) -> dict[str, list[dict[str, Any]]]:
    await db.execute("DELETE FROM agent_status")
    for sql, args in steps:
        await db.execute(sql, *args)
    return await tables(db)


async def test_every_bulk_form_writes_what_its_one_row_statements_write(database_url: str) -> None:
    async with open_database(database_url) as db:
        agents = [str(r["id"]) for r in await db.fetch("SELECT id FROM staff WHERE role = 'agent' ORDER BY email")][:3]
        plan = stages(agents)
        assert {stage[0][0] for stage in plan} == set(queries.BULK), "a bulk form without a test"
        for stage in plan:
            assert len({sql for sql, _ in stage}) == 1
        one_by_one = await run(db, [s for stage in plan for s in stage])
        assert all(one_by_one.values()), "every table got rows"
        for table in ("conversations", "messages", "tokens", "offers", "participants", "agent_status"):
            await db.execute(f"TRUNCATE {table} CASCADE")
        bulk = await run(db, [queries.BULK[stage[0][0]].statement([args for _, args in stage]) for stage in plan])
        assert bulk == one_by_one


async def test_the_routers_agent_status_rows_go_in_one_statement_with_the_same_result(database_url: str) -> None:
    async with open_database(database_url) as db:
        agents = [str(r["id"]) for r in await db.fetch("SELECT id FROM staff WHERE role = 'agent' ORDER BY email")][:3]
        first = [(a, "available", i, 1, 0, 5) for i, a in enumerate(agents)]
        second = [(a, "away", 2, 0, 1, 3) for a in agents[:2]]      # the update path
        one_by_one = await run(db, [agent_status(*r) for r in (*first, *second)])
        assert len(one_by_one["agent_status"]) == 3
        together = await run(db, [queries.upsert_agent_statuses(first), queries.upsert_agent_statuses(second)])
        assert together == one_by_one
