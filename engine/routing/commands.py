"""The commands the Router actor accepts, and the snapshot it answers an agent's hello with.

Other actors and the HTTP routes build these and send them to ``Router.send`` / ``Router.call``;
``router.py`` handles them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import trio

from frontdesk.core import hours
from frontdesk.engine.runtime.outlet import Outlet

T = TypeVar("T")


class Reply(Generic[T]):
    """The one answer to a ``Router.call``: the Router sets it, the caller waits for it.

    An Event and a slot rather than a one-item memory channel, which cost a channel pair (two
    objects and their shared state) per new chat."""

    __slots__ = ("_event", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: T | None = None

    def send_nowait(self, value: T) -> None:
        self._value = value
        self._event.set()

    async def receive(self) -> T:
        await self._event.wait()
        return self._value      # type: ignore[return-value]   # set before the event


@dataclass(eq=False)
class Enqueue:
    """A new chat (or one restored at start) waits in ``queue``; replies its position."""

    conversation_id: str
    queue: str
    info: dict[str, Any]              # customer and question, for the offer event
    queue_key: int | None             # None: a new chat at the tail
    reply: Reply[int] | None
    prefer: str | None = None         # offered first to this agent (a reopened conversation's last owner)


@dataclass(frozen=True)
class QueueConfig:
    """A queue's settings as stored (reloaded whenever the ``queues`` table changes)."""

    name: str
    schedule: hours.Schedule
    closed_message: str
    faq_suggestions: bool
    identity_secret: str | None
    required_fields: tuple[str, ...]
    mode: str = "live"                # live | messaging (PROTOCOL.md §7)
    consent_notice: str | None = None
    transcript_mails: bool = True     # the customer may ask for the transcript by mail
    sender_name: str | None = None    # the From header's display name of the queue's mails


@dataclass(frozen=True)
class QueueView:
    config: QueueConfig
    open: bool
    next_open: datetime | None
    agents_online: int
    waiting: int


@dataclass(eq=False)
class ReloadQueues:
    configs: dict[str, QueueConfig]


@dataclass(eq=False)
class AgentProfile:
    agent_id: str
    name: str
    queues: frozenset[str]
    capacity: int
    email: str = ""
    role: str = "agent"               # or "supervisor": staff in the Router with no queue, never offered work


@dataclass(eq=False)
class AgentOnline:
    """The agent's first socket said hello; replies its snapshot for ``welcome``."""

    profile: AgentProfile
    chosen_presence: str
    reply: Reply[AgentSnapshot]


@dataclass(eq=False)
class TakeSnapshot:
    agent_id: str
    reply: Reply[AgentSnapshot]


@dataclass(frozen=True)
class AgentSnapshot:
    presence: str
    conversations: list[str]
    offers: list[dict[str, Any]]
    invitations: list[dict[str, Any]]
    transfers: list[dict[str, Any]] = field(default_factory=list)   # pending transfer_offer events
    transfers_sent: list[dict[str, Any]] = field(default_factory=list)  # the agent's own pending transfers
    results: list[str] = field(default_factory=list)    # encoded transfer_results it missed while away
    floor: dict[str, Any] | None = None     # a supervisor's: every running conversation and every agent


@dataclass(eq=False)
class AgentDisconnected:
    agent_id: str


@dataclass(eq=False)
class AgentOffline:
    agent_id: str


@dataclass(eq=False)
class SetPresence:
    agent_id: str
    state: str
    session: Outlet


@dataclass(eq=False)
class AcceptOffer:
    agent_id: str
    offer_id: str
    session: Outlet


@dataclass(eq=False)
class RejectOffer:
    agent_id: str
    offer_id: str
    reason: str | None
    session: Outlet


@dataclass(eq=False)
class OfferTimedOut:
    offer_id: str


@dataclass(eq=False)
class ConversationClosed:
    """A conversation ended (by customer, agent or system), waiting or assigned."""

    conversation_id: str


@dataclass(eq=False)
class Invite:
    conversation_id: str
    inviter_id: str
    agent_id: str | None
    queue: str | None
    session: Outlet


@dataclass(eq=False)
class AnswerInvitation:
    agent_id: str
    invitation_id: str
    accept: bool
    session: Outlet


@dataclass(eq=False)
class InvitationTimedOut:
    invitation_id: str
    invitee_id: str


@dataclass(eq=False)
class TransferConversation:
    """The owner hands the conversation to a colleague (``agent_id``) or to a queue (PROTOCOL.md §8)."""

    conversation_id: str
    from_id: str
    agent_id: str | None
    queue: str | None
    note: str | None
    session: Outlet


@dataclass(eq=False)
class AnswerTransfer:
    agent_id: str
    transfer_id: str
    accept: bool
    session: Outlet


@dataclass(frozen=True)
class PendingTransfer:
    """A transfer pending in the database, restored at start or after a rebuild: asked of
    ``target_id``, or (None) waiting at the head of ``queue``, until ``expires_at``."""

    transfer_id: str
    conversation_id: str
    from_id: str
    agent_id: str | None        # the named target, as asked (None for a queue)
    queue: str | None
    note: str | None
    target_id: str | None
    asked: tuple[str, ...]
    expires_at: datetime | None


@dataclass(eq=False)
class TransferTimedOut:
    """The target's time ran out, or (``target_id`` None) the waiting at a queue's head did."""

    transfer_id: str
    target_id: str | None


@dataclass(eq=False)
class AgentLeft:
    """An invited agent left a conversation (``leave``): it has room again."""

    conversation_id: str
    agent_id: str


@dataclass(eq=False)
class Adopt:
    """An agent started a conversation (the business writes first): it owns it, and it counts
    toward the agent's load like an accepted chat."""

    conversation_id: str
    queue: str
    agent_id: str
    info: dict[str, Any]
    queue_key: int


@dataclass(eq=False)
class UpdateAgent:
    """A supervisor changed an agent (name, capacity, queues): routing follows at once, and an agent
    with more room is offered what waits."""

    profile: AgentProfile


@dataclass(eq=False)
class DisableAgent:
    """A supervisor disabled an agent: its offers are revoked, its chats go back to the head of their
    queues, and it is offered nothing more (no queues, no capacity)."""

    agent_id: str


@dataclass(eq=False)
class Tick:
    pass


# ---- supervisors (PROTOCOL.md §8): the Session lets only a supervisor's socket send these ----

@dataclass(eq=False)
class SuperviseJoin:
    """The supervisor takes part in an assigned conversation (as invited)."""

    conversation_id: str
    supervisor_id: str
    session: Outlet


@dataclass(eq=False)
class TakeOver:
    """The supervisor owns the conversation; its old owner stays in it as invited."""

    conversation_id: str
    supervisor_id: str
    session: Outlet


@dataclass(eq=False)
class Reassign:
    """The conversation goes to ``agent_id`` without asking; its old owner leaves it."""

    conversation_id: str
    agent_id: str
    supervisor_id: str
    session: Outlet


@dataclass(eq=False)
class SetAgentPresence:
    agent_id: str
    state: str
    supervisor_id: str
    session: Outlet


RouterCommand = (Enqueue | ReloadQueues | AgentOnline | TakeSnapshot | AgentDisconnected
                 | AgentOffline | SetPresence | AcceptOffer | RejectOffer | OfferTimedOut
                 | ConversationClosed | Invite | AnswerInvitation | InvitationTimedOut | TransferConversation
                 | AnswerTransfer | TransferTimedOut | AgentLeft | Adopt | Tick
                 | SuperviseJoin | TakeOver | Reassign | SetAgentPresence | UpdateAgent | DisableAgent)
