"""What the edge hands clients' frames and requests to: made once by the supervisor, shared by
every Session and route (a socket holds one reference, not one per service)."""

from __future__ import annotations

from dataclasses import dataclass, field

from frontdesk.engine.agents.roster import AgentRoster
from frontdesk.engine.conversations.roster import ConversationRoster
from frontdesk.engine.edge.sessions import OpenSessions
from frontdesk.engine.edge.throttles import Throttles
from frontdesk.engine.edge.token_resolver import TokenResolver
from frontdesk.engine.mail.outbox import Outbox
from frontdesk.engine.mail.sms import SmsSender
from frontdesk.engine.routing.router import Router
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.storage.db import Database
from frontdesk.engine.storage.persister import Persister


@dataclass(frozen=True, slots=True, eq=False)
class EdgeContext:
    config: Config
    db: Database
    persister: Persister
    router: Router
    conversations: ConversationRoster
    agents: AgentRoster
    tokens: TokenResolver
    outbox: Outbox
    sms: SmsSender
    throttles: Throttles
    sessions: OpenSessions = field(default_factory=OpenSessions)
