"""The system message naming the new owner (take-over, reassignment) is written in the customer's
language and stored as the customer reads it: the pre-chat form's ``language`` first, else the
customer record's, else English.

Demo queues: support = agent1..3; supervisor@demo.test is "Supervisor".
"""

from __future__ import annotations

import re

import trio
from conftest import Engine, Postgres, agent
from test_collaboration import db_rows, db_rows_until, owned_chat
from test_supervisors_live import supervisor, transcript


async def test_a_take_over_of_a_german_chat_is_announced_in_german(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with owned_chat(engine, language="de-DE") as (_, cu, cid), supervisor(engine) as sup:
        await sup.send({"type": "take_over", "conversation_id": cid})
        view = await sup.expect("conversation", conversation_id=cid)
        assert view["messages"][-1]["text"] == "Supervisor hat das Gespräch übernommen."
        note = await cu.expect("message", conversation_id=cid)
        assert note["sender"]["kind"] == "system" and note["text"] == "Supervisor hat das Gespräch übernommen."
        said = [m["text"] for m in await transcript(engine, cid, cu.token) if m["sender"]["kind"] == "system"]
        assert said == ["Supervisor hat das Gespräch übernommen."]
    stored = await db_rows_until(postgres, database_url,
                                 f"SELECT text FROM messages WHERE conversation_id = '{cid}' "
                                 "AND sender_kind = 'system'", lambda rows: rows)
    assert stored == [{"text": "Supervisor hat das Gespräch übernommen."}]


async def test_without_a_form_language_the_customer_records_language_is_used(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    await trio.to_thread.run_sync(postgres.psql, _sql(
        database_url, "INSERT INTO customers (id, name, email, language) "
                      "VALUES (gen_random_uuid(), 'Dora Deutsch', 'dora@example.com', 'de');"))
    async with owned_chat(engine, email="dora@example.com", name="Dora Deutsch") as (_, cu, cid), \
            agent(engine, 2) as a2, supervisor(engine) as sup:
        assert (await db_rows(postgres, database_url,
                              f"SELECT language FROM conversations WHERE id = '{cid}'")) == [{"language": None}]
        await sup.send({"type": "reassign", "conversation_id": cid, "agent_id": a2.info["id"]})
        await a2.expect("conversation", conversation_id=cid)
        note = await cu.expect("message", conversation_id=cid)
        assert note["text"] == "Agent Two hat das Gespräch übernommen."


async def test_the_forms_language_wins_over_the_customer_record(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    await trio.to_thread.run_sync(postgres.psql, _sql(
        database_url, "INSERT INTO customers (id, name, email, language) "
                      "VALUES (gen_random_uuid(), 'Dora Deutsch', 'dora@example.com', 'de');"))
    async with owned_chat(engine, email="dora@example.com", language="en") as (_, cu, cid), \
            supervisor(engine) as sup:
        await sup.send({"type": "take_over", "conversation_id": cid})
        note = await cu.expect("message", conversation_id=cid)
        assert note["text"] == "Supervisor has taken over the conversation."


def _sql(database_url: str, statement: str) -> str:
    """psql input that runs ``statement`` on the test's own database."""
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    return f"\\set QUIET on\n\\set ON_ERROR_STOP on\n\\c {name[1]}\n{statement}\n"
