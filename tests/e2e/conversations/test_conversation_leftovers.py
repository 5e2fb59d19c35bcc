"""A Conversation that ends with commands still in its inbox, or on their way to it
(engine/conversations/conversation.py). The writes they carry are stored all the same: the Router hands an
accepted offer's close to the assignment (one write per chat), and when the customer left just
before, the assignment never runs. A post that waits for room meets a closed inbox and is
dropped, as a post to an ended actor is. Real PostgreSQL, Persister, timers and actor map; the
Router is a recorder."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import make_config

from frontdesk.engine.conversations import conversation as conversation_module
from frontdesk.engine.conversations.conversation import Conversation, ConversationContext
from frontdesk.engine.conversations.model import ConversationRecord, CustomerGone
from frontdesk.engine.mail.outbox import Outbox
from frontdesk.engine.routing.commands import ConversationClosed
from frontdesk.engine.runtime.registry import ActorMap
from frontdesk.engine.runtime.supervision import Strategy
from frontdesk.engine.runtime.timers import Timers
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import open_database
from frontdesk.engine.storage.persister import Persister


class RecordingRouter:
    def __init__(self) -> None:
        self.closed = trio.Event()
        self.on_closed: list[Callable[[], None]] = []

    def queue_mode(self, _name: str) -> str:
        return "live"

    async def send(self, command: Any) -> None:
        if isinstance(command, ConversationClosed):
            for fn in self.on_closed:
                fn()
            self.closed.set()


async def conversation_handles(nursery: trio.Nursery, db: Any, persister: Persister, router: RecordingRouter,
                               config: Any) -> tuple[ActorMap[Conversation], ConversationContext]:
    """A Conversation's handles as the supervisor makes them, with ``router`` recording."""
    timers = Timers()
    await nursery.start(timers.run)
    actors: ActorMap[Conversation] = ActorMap(nursery, Strategy("conversation"))
    agents: ActorMap[Any] = ActorMap(nursery, Strategy("agent"))
    context = ConversationContext(db=db, persister=persister, timers=timers,
                                  router=router,  # type: ignore[arg-type]  # records what the Conversation tells it
                                  agents=agents, outbox=Outbox(db, persister, lambda: None), spill=actors.send_later,
                                  max_wait_s=config.max_wait_s, customer_grace_s=config.customer_grace_s)
    return actors, context


async def test_an_assignment_left_in_the_inbox_of_an_ended_conversation_still_stores_the_offer_close(
        database_url: str, data_dir: Path) -> None:
    now = datetime.now(UTC)
    cid, offer_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with open_database(database_url) as db, trio.open_nursery() as nursery:
        agent_id = str(await db.fetchval("SELECT id FROM staff WHERE email = 'agent1@demo.test'"))
        persister = Persister(db, queries.BULK)
        await nursery.start(persister.run)
        router = RecordingRouter()
        config = make_config(database_url, data_dir)
        actors, context = await conversation_handles(nursery, db, persister, router, config)
        await persister.write([queries.insert_conversation(cid, "support", "Cora", "cora@example.com", [], {}, 1, now),
                               queries.insert_offer(offer_id, cid, agent_id, now, now + timedelta(seconds=30))], cid)
        conv = Conversation(context, ConversationRecord(cid, "support", "queued", "Cora", "cora@example.com", [],
                                                          now))
        conv.post(CustomerGone())       # the customer left (no socket) ...
        conv.post_assign(agent_id, "Agent One", [queries.close_offer(offer_id, "accepted", None, now)])  # ... first
        actors.spawn(cid, conv)
        await router.closed.wait()
        # a write of the same conversation commits after every one queued before it
        await persister.write([queries.set_read(cid, "customer", None, 0)], cid)
        row = await db.fetchrow("SELECT c.status, c.owner_id, o.outcome FROM conversations c "
                                "JOIN offers o ON o.conversation_id = c.id WHERE c.id = $1", uuid.UUID(cid))
        nursery.cancel_scope.cancel()
    assert row is not None
    assert (row["status"], row["owner_id"], row["outcome"]) == ("ended", None, "accepted")


async def test_a_post_waiting_for_room_when_the_conversation_ends_is_dropped_without_harm(
        database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A post to a full inbox is sent by a helper task; when that task first runs after the
    Conversation has ended, its send meets a closed inbox. That must not take the actor nursery
    (every actor of the engine) down."""
    monkeypatch.setattr(conversation_module, "ACTOR_INBOX_SIZE", 1)
    now = datetime.now(UTC)
    cid = str(uuid.uuid4())
    async with open_database(database_url) as db, trio.open_nursery() as nursery:
        persister = Persister(db, queries.BULK)
        await nursery.start(persister.run)
        router = RecordingRouter()
        config = make_config(database_url, data_dir)
        actors, context = await conversation_handles(nursery, db, persister, router, config)
        await persister.write([queries.insert_conversation(cid, "support", "Cora", "cora@example.com", [], {}, 1,
                                                           now)], cid)
        conv = Conversation(context, ConversationRecord(cid, "support", "queued", "Cora", "cora@example.com", [],
                                                          now))
        # while the chat ends, the Router tells it two positions: the second finds the inbox full
        router.on_closed.append(lambda: (conv.post_position(2), conv.post_position(1)))
        conv.post(CustomerGone())
        actors.spawn(cid, conv)
        await router.closed.wait()
        await trio.testing.wait_all_tasks_blocked()     # the helper task has run its send
        assert cid not in actors
        nursery.cancel_scope.cancel()
