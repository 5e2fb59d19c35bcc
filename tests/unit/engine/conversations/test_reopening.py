"""A customer who writes in a resting messaging conversation reopens it
(engine/conversations/conversation.py): the message and the conversation waiting again are ONE
write, so its offer waits for one commit as a new chat's does, and a failed commit leaves neither
(no stored message in a conversation still at rest). The Persister, Router, timers and socket
are recorders; nothing waits in real time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
import trio
import trio.testing

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.conversations.conversation import Conversation, ConversationContext
from frontdesk.engine.conversations.model import AttachCustomer, ClientFrame, ConversationRecord, Sender, StoredMessage
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.routing.commands import Enqueue

OWNER = "6f1c0d2e-0000-4000-8000-000000000001"
CID = "6f1c0d2e-0000-4000-8000-0000000000c1"


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


class Writes:
    def __init__(self, fail: bool = False) -> None:
        self.writes: list[list[tuple[str, tuple[Any, ...]]]] = []
        self.fail = fail

    async def write(self, statements: Any, key: str | None = None) -> None:
        if self.fail:
            raise DatabaseError("the database is away")
        self.writes.append(list(statements))

    async def post(self, statements: Any, key: str | None = None) -> None:
        self.writes.append(list(statements))


class Router:
    def __init__(self) -> None:
        self.keys = itertools.count(1000)
        self.enqueued: list[Enqueue] = []

    def queue_mode(self, _queue: str) -> str:
        return "messaging"

    def next_queue_key(self) -> int:
        return next(self.keys)

    async def call(self, make: Any) -> Any:
        command = make(None)
        if isinstance(command, Enqueue):
            self.enqueued.append(command)
        return 1

    async def send(self, command: Any) -> None:
        pass


class Timer:
    def cancel(self) -> None:
        pass


class Timers:
    def after(self, _seconds: float, _fn: Any) -> Timer:
        return Timer()


class Socket:
    def __init__(self) -> None:
        self.frames: list[str] = []

    def deliver(self, frame: str) -> None:
        self.frames.append(frame)

    def deliver_together(self, *frames: str) -> None:
        self.frames.extend(frames)

    def overflow(self) -> None:
        self.frames.append("overflow")


def resting(persister: Writes, router: Router) -> Conversation:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    first = {"conversation_id": CID, "seq": 1, "id": "6f1c0d2e-0000-4000-8000-0000000000a1",
             "sender": {"kind": "agent", "id": OWNER, "name": "Ann"},
             "text": "Your order is on its way.", "private": False, "attachments": [], "options": None,
             "option_id": None, "at": "2026-12-01T00:00:00Z"}
    record = ConversationRecord(CID, "messages", "pending", "Cora", "cora@example.com", [], at,
                                messages=[StoredMessage.of(first, OWNER, None)], customer_read_seq=1,
                                last_owner_id=OWNER)
    context = ConversationContext(db=None, persister=persister, timers=Timers(), router=router,  # type: ignore[arg-type]
                                  agents={}, outbox=None, spill=lambda *a: None,  # type: ignore[arg-type]
                                  max_wait_s=60.0, customer_grace_s=60.0)
    return Conversation(context, record)


async def write_in(conv: Conversation, socket: Socket) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(conv.run)
        await conv.send(AttachCustomer(socket, None))       # the customer's link opened it
        await conv.send(ClientFrame(socket, Sender("customer", None, "Cora"),
                                    protocol.parse_frame('{"type":"send","client_id":"c-1","text":"Any news?"}')))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()


async def test_the_message_and_the_reopening_are_one_write_and_the_offer_follows_it(
        clock: trio.testing.MockClock) -> None:
    persister, router, socket = Writes(), Router(), Socket()
    conv = resting(persister, router)
    await write_in(conv, socket)

    (write,) = persister.writes
    sql = [statement for statement, _args in write]
    assert any(s.startswith("INSERT INTO messages") for s in sql)
    (reopen,) = [(s, args) for s, args in write if "SET status = 'queued'" in s]
    (enqueued,) = router.enqueued
    assert enqueued.queue_key == reopen[1][1] and enqueued.prefer == OWNER     # waits at the key it was stored at
    assert enqueued.info["question"] == "Any news?"
    assert conv.status == "queued"
    kinds = [protocol_type(f) for f in socket.frames]
    assert kinds.index("ack") < kinds.index("status")


async def test_a_reopening_that_cannot_be_stored_leaves_the_conversation_at_rest(
        clock: trio.testing.MockClock) -> None:
    persister, router, socket = Writes(fail=True), Router(), Socket()
    conv = resting(persister, router)
    await write_in(conv, socket)

    assert conv.status == "pending" and not router.enqueued and conv.last_seq == 1
    assert [protocol_type(f) for f in socket.frames] == ["welcome", "error"]


def protocol_type(frame: str) -> str:
    import orjson

    return str(orjson.loads(frame)["type"])
