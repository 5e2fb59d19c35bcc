"""The open conversations' actors: found by id, opened for a new chat or at start-up, and
restarted from the database when one crashes (``runtime/supervision.py``).

A restarted Conversation starts from its rows, as at start-up: every message it acked is there.
Its customers' sockets were closed by the crash and resume from the successor; a conversation
that had ended by the time of the restart is not started again, and the Router hears it closed.
A conversation whose actor keeps crashing is parked: its row is marked ``parked_at`` for a
supervisor, the Router forgets it (its agent's room is free again), and the rest of the engine
goes on; the next start of the engine tries it again.
"""

from __future__ import annotations

from frontdesk.engine.conversations.conversation import Conversation, ConversationContext
from frontdesk.engine.conversations.load import records_of
from frontdesk.engine.conversations.model import ConversationRecord
from frontdesk.engine.routing.commands import ConversationClosed
from frontdesk.engine.runtime.registry import ActorMap
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Row


class ConversationRoster:
    def __init__(self, actors: ActorMap[Conversation], context: ConversationContext):
        self._actors = actors
        self._ctx = context

    def get(self, conversation_id: str) -> Conversation | None:
        return self._actors.get(conversation_id)

    async def records(self, rows: list[Row]) -> list[ConversationRecord]:
        """The records of these stored conversations, as their actors start from them. Raises
        ``DatabaseError``."""
        return await records_of(self._ctx.db, rows, self._ctx.tail.messages)

    def open(self, record: ConversationRecord) -> Conversation:
        """Start the conversation's actor: found at once, its inbox takes commands before it runs."""
        conversation = Conversation(self._ctx, record)
        self._actors.spawn(record.id, conversation, self._restart, self._park)
        return conversation

    async def wake(self, conversation_id: str) -> Conversation | None:
        """The actor of a resting (pending or resolved) messaging conversation, started from its rows
        when someone comes to it; the running one if there is one; None for any other."""
        running = self._actors.get(conversation_id)
        if running is not None:
            return running
        row = await queries.conversation(self._ctx.db, conversation_id)
        if row is None or row["status"] not in ("pending", "resolved"):
            return None
        record = (await self.records([row]))[0]
        running = self._actors.get(conversation_id)     # another hello may have woken it meanwhile
        return running if running is not None else self.open(record)

    async def _restart(self, conversation_id: str, crashed: Conversation) -> Conversation | None:
        row = await queries.conversation(self._ctx.db, conversation_id)
        if row is None or row["status"] in ("ended", "pending", "resolved"):
            await self._ctx.router.send(ConversationClosed(conversation_id))
            return None
        record = (await self.records([row]))[0]
        if record.status == "queued":
            # read between two of the Router's commands, as at start-up (no await before its use)
            record.position = self._ctx.router.state.position(conversation_id)
        return Conversation(self._ctx, record)

    async def _park(self, conversation_id: str, crashed: Conversation) -> None:
        await self._ctx.persister.post([queries.park_conversation(conversation_id)], conversation_id)
        await self._ctx.router.send(ConversationClosed(conversation_id))    # its agent's room is free again
