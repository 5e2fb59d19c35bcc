"""What routing decides about: presence states, the effects of a decision, and the state of
agents, waiting chats, offers and queues. Plain data; ``decisions.py`` makes the decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sortedcontainers import SortedDict, SortedList

AVAILABLE = "available"
AWAY = "away"
OFFLINE = "offline"


# ---- effects -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OfferMade:
    offer_id: str
    conversation_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferClosed:
    """An offer stopped being pending. outcome: accepted|rejected|expired|revoked|void."""

    offer_id: str
    conversation_id: str
    agent_id: str
    outcome: str
    reason: str | None = None


@dataclass(frozen=True)
class Assigned:
    conversation_id: str
    agent_id: str


@dataclass(frozen=True)
class Requeued:
    """An assigned conversation waits again, at the head of its queue (its agent went offline)."""

    conversation_id: str
    agent_id: str
    queue_key: int


@dataclass(frozen=True)
class PresenceChanged:
    agent_id: str
    state: str
    by: str  # "agent" | "system" | "supervisor"


@dataclass(frozen=True)
class LeftConversation:
    """An invited agent is no longer in the conversation (it went offline)."""

    conversation_id: str
    agent_id: str


@dataclass(frozen=True)
class OwnerChanged:
    """An assigned conversation has a new owner (a transfer accepted, a supervisor's take-over or
    reassignment); the previous owner stays in it as invited (``previous_stays``) or leaves it."""

    conversation_id: str
    previous_id: str
    agent_id: str
    previous_stays: bool = False


@dataclass(frozen=True)
class ClaimServed:
    """What waited at the head of a queue (a transfer) got the free member ``agent_id``, whose room
    is now reserved for it."""

    claim_id: str
    queue: str
    agent_id: str


Effect = (OfferMade | OfferClosed | Assigned | Requeued | PresenceChanged | LeftConversation | OwnerChanged
          | ClaimServed)


# ---- state ---------------------------------------------------------------------------------

@dataclass(eq=False)
class Agent:
    id: str
    name: str
    queues: frozenset[str]
    capacity: int
    presence: str = OFFLINE
    connected: bool = False
    open: set[str] = field(default_factory=set)       # conversations it owns
    joined: set[str] = field(default_factory=set)     # conversations it was invited into
    offers: set[str] = field(default_factory=set)
    invitations: int = 0                              # pending invitations to it
    transfers: int = 0                                # pending transfers to it
    last_offer_at: float = float("-inf")  # never offered: longer ago than any clock reading (trio's may start at 0)
    missed_in_row: int = 0
    index_key: tuple[int, float, str] | None = None  # its key in the queues' eligible lists
    online_counted: bool = False                      # counted in its queues' ``online``

    @property
    def load(self) -> int:
        return len(self.open) + len(self.joined) + len(self.offers) + self.invitations + self.transfers

    @property
    def eligible(self) -> bool:
        return self.connected and self.presence == AVAILABLE and self.load < self.capacity


@dataclass(eq=False)
class Waiting:
    """A chat waiting in a queue (with or without a pending offer)."""

    id: str
    queue: str
    queue_key: int
    offer_id: str | None = None
    excluded: set[str] = field(default_factory=set)  # agents who rejected it or let it expire


@dataclass(eq=False)
class Claim:
    """Something that waits at the head of a queue for its next free member, ahead of the waiting
    chats (a transfer to a queue where nobody could take it at once)."""

    id: str
    queue: str
    excluded: set[str] = field(default_factory=set)  # agents it must not go to


@dataclass(eq=False)
class Offer:
    id: str
    conversation_id: str
    agent_id: str


@dataclass(eq=False)
class Queue:
    name: str
    members: set[str] = field(default_factory=set)
    waiting: SortedDict = field(default_factory=SortedDict)       # queue_key -> conversation id
    unoffered: SortedList = field(default_factory=SortedList)     # queue_keys without a pending offer
    eligible: SortedList = field(default_factory=SortedList)      # (open, last_offer_at, agent id)
    online: int = 0                                               # members connected and not offline
