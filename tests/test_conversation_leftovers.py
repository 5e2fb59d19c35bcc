"""A Conversation that ends with commands still in its inbox (engine/conversation.py): the writes
they carry are stored all the same. The Router hands an accepted offer's close to the assignment
(one write per chat); when the customer left just before, the assignment never runs, and the
close must not be lost. Real PostgreSQL, Persister and Directory; the Router is a recorder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio
from conftest import make_config

from frontdesk.engine import queries
from frontdesk.engine.conversation import Conversation
from frontdesk.engine.conversation_model import ConversationRecord, CustomerGone
from frontdesk.engine.db import open_database
from frontdesk.engine.directory import Directory
from frontdesk.engine.persister import Persister
from frontdesk.engine.router_commands import ConversationClosed


class RecordingRouter:
    def __init__(self) -> None:
        self.closed = trio.Event()

    async def send(self, command: Any) -> None:
        if isinstance(command, ConversationClosed):
            self.closed.set()


async def test_an_assignment_left_in_the_inbox_of_an_ended_conversation_still_stores_the_offer_close(
        database_url: str, data_dir: Path) -> None:
    now = datetime.now(UTC)
    cid, offer_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with open_database(database_url) as db, trio.open_nursery() as nursery:
        agent_id = str(await db.fetchval("SELECT id FROM staff WHERE email = 'agent1@demo.test'"))
        persister = Persister(db, queries.BULK)
        await nursery.start(persister.run)
        directory = Directory(make_config(database_url, data_dir), db, persister, nursery)
        await nursery.start(directory.timers.run)
        router = RecordingRouter()
        directory.router = router  # type: ignore[assignment]  # records what the Conversation tells it
        await persister.write([queries.insert_conversation(cid, "support", "Cora", "cora@example.com", [], {}, 1, now),
                               queries.insert_offer(offer_id, cid, agent_id, now, now + timedelta(seconds=30))], cid)
        conv = Conversation(directory, ConversationRecord(cid, "support", "queued", "Cora", "cora@example.com", [],
                                                          now))
        conv.post(CustomerGone())       # the customer left (no socket) ...
        conv.post_assign(agent_id, "Agent One", [queries.close_offer(offer_id, "accepted", None, now)])  # ... first
        directory.spawn_conversation(conv)
        await router.closed.wait()
        # a write of the same conversation commits after every one queued before it
        await persister.write([queries.set_read(cid, "customer", None, 0)], cid)
        row = await db.fetchrow("SELECT c.status, c.owner_id, o.outcome FROM conversations c "
                                "JOIN offers o ON o.conversation_id = c.id WHERE c.id = $1", uuid.UUID(cid))
        nursery.cancel_scope.cancel()
    assert row is not None
    assert (row["status"], row["owner_id"], row["outcome"]) == ("ended", None, "accepted")
