"""The system messages a Conversation writes itself, in the customer's language (German for
``de``, ``de-CH``, ...; English otherwise): stored as the customer reads them, and shown so to the
agents too. Pure; the name filled in is text, never a format string."""

from __future__ import annotations

from frontdesk.engine.mail.accounts import language_of

_TAKEN_OVER = {"en": "{name} has taken over the conversation.",
               "de": "{name} hat das Gespräch übernommen."}


def taken_over(name: str, language: str | None) -> str:
    """The public system message naming the agent who now owns the chat."""
    return _TAKEN_OVER[language_of(language)].replace("{name}", name)
