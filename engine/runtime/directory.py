"""Directory: where one actor finds another, and who starts and stops them.

The Directory holds the engine's shared services (config, database, Persister, Router, the
Conversations' timers, the hellos' TokenResolver) and the two maps of live actors: one
Conversation per open conversation, one AgentActor per signed-in agent. Only the Directory
writes those maps: ``spawn_*`` adds an actor and starts its task in the engine's actor nursery;
the actor removes itself (``forget_*``) as the last thing it does, before its task returns.
Everyone else only looks actors up, which in trio is an atomic read (no await between lookup
and use).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from frontdesk.engine.edge.token_resolver import TokenResolver
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.runtime.timers import Timers
from frontdesk.engine.storage.db import Database
from frontdesk.engine.storage.persister import Persister

if TYPE_CHECKING:
    from frontdesk.engine.agents.agent import AgentActor, AgentSocket
    from frontdesk.engine.conversations.conversation import Conversation
    from frontdesk.engine.mail.mailer import Mailer
    from frontdesk.engine.routing.router import Router


class Directory:
    def __init__(self, config: Config, db: Database, persister: Persister, nursery: trio.Nursery):
        self.config = config
        self.db = db
        self.persister = persister
        self._nursery = nursery
        self.timers = Timers()  # the Conversations' timers; the supervisor runs it before any actor
        self.tokens = TokenResolver(db)  # the hellos' token lookups, batched; run by the supervisor
        self.router: Router  # set by the supervisor once the Router runs
        self.mailer: Mailer | None = None
        self.conversations: dict[str, Conversation] = {}
        self.agents: dict[str, AgentActor] = {}

    def spawn_conversation(self, conversation: Conversation) -> None:
        """Start ``conversation``'s actor. It is found at once; what is posted to its inbox before its
        task first runs waits there (a new chat's POST does not wait a scheduler round for it)."""
        self.conversations[conversation.id] = conversation
        self._nursery.start_soon(conversation.run)

    def forget_conversation(self, conversation: Conversation) -> None:
        if self.conversations.get(conversation.id) is conversation:
            del self.conversations[conversation.id]

    async def agent_actor(self, agent_id: str, factory: Callable[[], AgentActor]) -> AgentActor:
        """The agent's actor, started by ``factory`` when it has none."""
        actor = self.agents.get(agent_id)
        if actor is None:
            actor = factory()
            self.agents[agent_id] = actor
            await self._nursery.start(actor.run)
        return actor

    def forget_agent(self, actor: AgentActor) -> None:
        if self.agents.get(actor.agent_id) is actor:
            del self.agents[actor.agent_id]

    def deliver_to_agent(self, agent_id: str, frame: str, conversation_id: str | None = None,
                         ack: tuple[AgentSocket, str] | None = None) -> None:
        """Hand an encoded event to every socket of the agent (dropped if it is not signed in); with
        ``ack`` = (socket, frame), the agent's own message, acked on that socket in the same write."""
        actor = self.agents.get(agent_id)
        if actor is not None:
            actor.deliver(frame, conversation_id, ack)
        elif ack is not None:
            ack[0].deliver(ack[1])

    def start_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a helper task in the actor nursery."""
        self._nursery.start_soon(fn, *args)

    def send_later(self, send: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``send`` (into an actor's full inbox) in a helper task, so the caller does not block.
        If the actor ends meanwhile, the command is dropped, as a post to an ended actor is: its
        closed inbox must not take the actor nursery, and every actor with it, down."""
        self._nursery.start_soon(_send_or_drop, send, *args)


async def _send_or_drop(send: Callable[..., Awaitable[Any]], *args: Any) -> None:
    try:
        await send(*args)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
