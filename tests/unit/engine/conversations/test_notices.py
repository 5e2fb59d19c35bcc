"""The system messages a Conversation writes (engine/conversations/notices.py), in the customer's language."""

from __future__ import annotations

import pytest

from frontdesk.engine.conversations.notices import taken_over


@pytest.mark.parametrize(("language", "text"), [
    ("de", "Agent Two hat das Gespräch übernommen."), ("de-CH", "Agent Two hat das Gespräch übernommen."),
    ("en", "Agent Two has taken over the conversation."), ("fr", "Agent Two has taken over the conversation."),
    (None, "Agent Two has taken over the conversation.")])
def test_the_take_over_names_the_agent_in_the_customers_language(language: str | None, text: str) -> None:
    assert taken_over("Agent Two", language) == text


def test_a_name_is_filled_in_as_text() -> None:
    assert taken_over("{name} {0.__class__}", "de") == "{name} {0.__class__} hat das Gespräch übernommen."
