"""What a Conversation actor works with: its senders, participants, stored messages, the
commands it accepts, and the record it starts from.

Plain data, no behaviour beyond small derived properties; ``conversation.py`` is the actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson
import trio

from frontdesk.core.wire import iso
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.runtime.outlet import Outlet
from frontdesk.engine.storage.db import Statement


class ReplayTarget(Protocol):
    """Who asked for a replay: the agent's actor, which hands the frames to the socket."""

    def post_replay(self, session: Outlet, conversation_id: str, frames: list[str]) -> None: ...


@dataclass(frozen=True)
class Sender:
    kind: str        # "customer" | "agent"
    id: str | None   # the agent's id; None for the customer
    name: str

    @property
    def key(self) -> str:
        """Scope of a sender's client_ids within the conversation."""
        return self.id if self.kind == "agent" and self.id else "customer"

    def wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass
class Participant:
    agent_id: str
    name: str
    role: str            # owner | invited
    read_seq: int = 0


Menu = tuple[tuple[str, str], ...]      # (id, label) of each option of an option menu


class StoredMessage(NamedTuple):
    """A message as a Conversation keeps it in memory: the fields its logic reads, and the wire
    form encoded ONCE (``body``: the ``message`` event's JSON object without type and client_id).

    One object of strings and numbers instead of a dataclass holding nested dicts and lists:
    an open conversation keeps its newest messages (``history.py``), and every garbage-collector
    pass over the heap would walk five containers per message. Frames are spliced from ``body``,
    so fan-out does not encode the message again.
    """
    seq: int
    id: str
    private: bool
    sender_key: str
    client_id: str | None
    text: str
    options: Menu | None
    body: str

    @classmethod
    def of(cls, wire: dict[str, Any], sender_key: str, client_id: str | None) -> StoredMessage:
        options = wire["options"]
        return cls(wire["seq"], wire["id"], bool(wire["private"]), sender_key, client_id, wire["text"],
                   tuple((o["id"], o["label"]) for o in options) if options else None, protocol.encode(wire))

    def json(self, with_client_id: bool) -> str:
        """The message as a JSON object; with ``client_id`` for its sender (PROTOCOL.md §4)."""
        if with_client_id and self.client_id is not None:
            return f'{self.body[:-1]},"client_id":{orjson.dumps(self.client_id).decode()}}}'
        return self.body

    def frame(self, with_client_id: bool) -> str:
        """The ``message`` event's frame text."""
        return '{"type":"message",' + self.json(with_client_id)[1:]


# ---- commands ------------------------------------------------------------------------------

@dataclass(eq=False)
class AttachCustomer:
    session: Outlet
    resume_after: int | None
    quiet: bool = False     # a signed-in customer's socket: its one welcome lists every conversation


@dataclass(eq=False)
class Detach:
    session: Outlet


@dataclass(eq=False)
class ClientFrame:
    session: Outlet
    sender: Sender
    command: protocol.Command


@dataclass(eq=False)
class Assign:
    agent_id: str
    name: str
    # stored in the same write as the assignment: the accepted offer's close (one write per chat, not two)
    also: Sequence[Statement] = ()


@dataclass(eq=False)
class Join:
    """An invited agent accepted: it joins with the whole history."""

    agent_id: str
    name: str


@dataclass(eq=False)
class ChangeOwner:
    """The Router handed the conversation to ``agent_id`` (a transfer accepted, a supervisor's
    take-over or reassignment): stored with ``also`` in one write, then announced; the previous
    owner stays in as invited (``previous_stays``) or leaves; ``note`` becomes the previous owner's
    private note in the conversation, and ``tell_previous`` (a frame) reaches the previous owner
    after the commit."""

    agent_id: str
    name: str
    previous_id: str
    previous_stays: bool = False
    note: str | None = None
    also: Sequence[Statement] = ()
    tell_previous: str | None = None
    at: datetime | None = None      # when the Router decided (the previous owner's leaving time)


@dataclass(eq=False)
class AgentGone:
    """An invited agent went offline: it is no longer in the conversation."""

    agent_id: str


@dataclass(eq=False)
class Requeue:
    agent_id: str
    queue_key: int
    position: int


@dataclass(eq=False)
class Position:
    position: int
    estimated_wait_s: int | None = None


@dataclass(eq=False)
class ReplayToAgent:
    """Send the messages after ``after_seq`` to one socket of an agent (its resume)."""

    agent_id: str
    session: Outlet
    after_seq: int
    reply_to: ReplayTarget


@dataclass(eq=False)
class Summarize:
    reply: trio.MemorySendChannel[dict[str, Any]]


@dataclass(eq=False)
class CustomerGone:
    pass


@dataclass(eq=False)
class WaitedTooLong:
    pass


@dataclass(eq=False)
class RemindOwner:
    """A customer's message may still be unread by the owner (PROTOCOL.md §7 reminders)."""


@dataclass(eq=False)
class Monitor:
    """A supervisor's socket watches the conversation without taking part (PROTOCOL.md §8)."""

    session: Outlet
    supervisor: Sender


@dataclass(eq=False)
class Unmonitor:
    """The socket stops watching; ``logged``: the supervisor asked (not merely a closed socket)."""

    session: Outlet
    supervisor: Sender
    logged: bool = True


ConversationCommand = (AttachCustomer | Detach | ClientFrame | Assign | Join | ChangeOwner | AgentGone | Requeue
                       | Position | ReplayToAgent | Summarize | CustomerGone | WaitedTooLong | RemindOwner
                       | Monitor | Unmonitor)


@dataclass(frozen=True)
class StoredHistory:
    """What the database holds of a loaded conversation's whole history, beyond the newest
    messages its record carries: what the actor reads without a query."""

    question: str = ""                                  # the pre-chat question (seq 1)
    last_public_seq: int = 0                            # the last seq a customer may see
    menu: Menu | None = None                            # the newest public option menu
    keys: Sequence[tuple[str, str]] = ()                # every (sender key, client_id) stored


@dataclass
class ConversationRecord:
    """What the actor starts from: a new chat, or a row loaded at start (``messages``: its newest
    messages, ``stored``: what the database holds of the rest)."""

    id: str
    queue: str
    status: str
    customer_name: str
    customer_email: str
    customer_verified: list[str]
    created_at: datetime
    position: int | None = None
    messages: list[StoredMessage] = field(default_factory=list)
    participants: dict[str, Participant] = field(default_factory=dict)
    customer_read_seq: int = 0
    last_owner_id: str | None = None      # a messaging conversation's owner before it was set aside
    stored: StoredHistory | None = None
    language: str | None = None           # the pre-chat form's; None: the customer record's applies

    @property
    def question(self) -> str:
        """The pre-chat question: the conversation's first message."""
        if self.stored is not None:
            return self.stored.question
        return self.messages[0].text if self.messages else ""

    @property
    def customer_info(self) -> dict[str, Any]:
        """The customer as offers, invitations and conversation views show them."""
        return {"name": self.customer_name, "email": self.customer_email, "verified": list(self.customer_verified)}


def message_wire(row: Any) -> dict[str, Any]:
    """The wire form (``message`` event without type and client_id) of a row of the ``messages`` table;
    ``imported: true`` marks a message imported from an old e-mail thread (PROTOCOL.md §7)."""
    wire = {
        "conversation_id": str(row["conversation_id"]), "seq": row["seq"], "id": str(row["id"]),
        "sender": {"kind": row["sender_kind"], "id": str(row["sender_id"]) if row["sender_id"] else None,
                   "name": row["sender_name"]},
        "text": row["text"], "private": row["private"], "attachments": row["attachments"],
        "options": row["options"], "option_id": row["option_id"], "at": iso(row["created_at"]),
    }
    if row.get("imported"):
        wire["imported"] = True
    return wire


def message_from_row(row: Any) -> StoredMessage:
    """A stored message as loaded from the ``messages`` table."""
    return StoredMessage.of(message_wire(row), row["sender_key"], row["client_id"])
