"""The open conversations' actors: found by id, opened for a new chat or at start-up."""

from __future__ import annotations

from frontdesk.engine.conversations.conversation import Conversation, ConversationContext
from frontdesk.engine.conversations.model import ConversationRecord
from frontdesk.engine.runtime.registry import ActorMap


class ConversationRoster:
    def __init__(self, actors: ActorMap[Conversation], context: ConversationContext):
        self._actors = actors
        self._ctx = context

    def get(self, conversation_id: str) -> Conversation | None:
        return self._actors.get(conversation_id)

    def open(self, record: ConversationRecord) -> Conversation:
        """Start the conversation's actor: found at once, its inbox takes commands before it runs."""
        conversation = Conversation(self._ctx, record)
        self._actors.spawn(record.id, conversation)
        return conversation
