"""The transcript and offline-request mails (engine/mail/compose.py) in German and English by the
customer's language: plain text and HTML, times in the queue's zone, private messages dropped,
what people typed escaped in HTML, and subjects fixed texts of the language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from frontdesk.engine.mail.compose import (
    compose_notification,
    compose_offline_confirmation,
    compose_transcript,
    template_sender_name,
)

HOSTILE = "<b>Eve</b> & \"friends\""
BERLIN = ZoneInfo("Europe/Berlin")
STARTED = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)     # 09:05 in Berlin


def message(sender: str, text: str, minute: int, private: bool = False,
            attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"sender_name": sender, "text": text, "private": private, "attachments": attachments or [],
            "created_at": STARTED.replace(minute=minute)}


CONVERSATION = {"customer_name": HOSTILE, "created_at": STARTED}
MESSAGES = [message(HOSTILE, "Where is <i>my</i> parcel?", 5),
            message("Agent One", "SECRET-NOTE", 6, private=True),
            message("Agent One", "It left today.", 7, attachments=[{"filename": "label <1>.pdf"}])]


def test_the_transcript_in_english() -> None:
    subject, text, page = compose_transcript(CONVERSATION, MESSAGES, BERLIN, "en")
    assert subject == "Your chat transcript (2026-03-02 09:05)"
    assert text.startswith(f"Hello {HOSTILE},\n\nhere is the transcript of your chat of 2026-03-02 09:05 "
                           "(Europe/Berlin).")
    assert "[2026-03-02 09:07] Agent One: It left today." in text and "attachments: label <1>.pdf" in text
    assert text.rstrip().endswith("Thank you for contacting us.")
    assert '<html lang="en">' in page and "Thank you for contacting us." in page


def test_the_transcript_in_german_for_every_german_language_tag() -> None:
    for language in ("de", "de-CH", "DE-at"):
        subject, text, page = compose_transcript(CONVERSATION, MESSAGES, BERLIN, language)
        assert subject == "Ihr Chatverlauf (02.03.2026 09:05)"
        assert text.startswith(f"Hallo {HOSTILE},\n\nhier ist der Verlauf Ihres Chats vom 02.03.2026 09:05 "
                               "(Europe/Berlin).")
        assert "[02.03.2026 09:07] Agent One: It left today." in text and "Anhänge: label <1>.pdf" in text
        assert "Vielen Dank, dass Sie sich an uns gewandt haben." in text
        assert '<html lang="de">' in page and "Anhänge: label &lt;1&gt;.pdf" in page
        assert "Hello" not in text and "transcript" not in text


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_transcript_drops_private_messages_and_escapes_what_people_typed(language: str) -> None:
    subject, text, page = compose_transcript(CONVERSATION, MESSAGES, BERLIN, language)
    for body in (text, page):
        assert "SECRET" not in body
    assert "Where is <i>my</i> parcel?" in text
    assert "Where is &lt;i&gt;my&lt;/i&gt; parcel?" in page and "<i>" not in page
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;friends&quot;" in page and "<b>Eve" not in page
    assert "Eve" not in subject


@pytest.mark.parametrize("language", ["fr", "", None])
def test_any_other_language_gets_the_english_transcript(language: str | None) -> None:
    subject, _, _ = compose_transcript(CONVERSATION, MESSAGES, BERLIN, language or "")
    assert subject.startswith("Your chat transcript")


def test_the_offline_confirmation_in_english_and_german() -> None:
    subject, text, page = compose_offline_confirmation("REQ-000042", HOSTILE, "Call me <back>", "en")
    assert subject == "We received your request REQ-000042"
    assert text.startswith(f"Hello {HOSTILE},\n\nthank you for your message. Your request number is REQ-000042;")
    assert text.endswith("Your message:\nCall me <back>\n")
    assert "<strong>REQ-000042</strong>; we will get back to you" in page

    subject, text, page = compose_offline_confirmation("REQ-000042", HOSTILE, "Call me <back>", "de-CH")
    assert subject == "Wir haben Ihre Anfrage REQ-000042 erhalten"
    assert text.startswith(f"Hallo {HOSTILE},\n\nvielen Dank für Ihre Nachricht. Ihre Anfragenummer ist REQ-000042;")
    assert text.endswith("Ihre Nachricht:\nCall me <back>\n")
    assert "Ihre Anfragenummer ist <strong>REQ-000042</strong>; wir melden uns" in page
    assert '<html lang="de">' in page


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_offline_confirmation_escapes_what_the_customer_typed(language: str) -> None:
    subject, _, page = compose_offline_confirmation("REQ-000001", HOSTILE, "<script>x</script>", language)
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;friends&quot;" in page and "<b>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "Eve" not in subject


def test_a_regional_german_tag_picks_the_german_notification_and_sender() -> None:
    templates = {"de": {"sender_name": "Kundendienst"}, "en": {"sender_name": "Customer care"}}
    subject, _, _ = compose_notification("Cora", "Support", "de-AT", [], "http://x/chat", templates)
    assert subject == "Neue Antwort auf Ihre Nachricht (Support)"
    assert template_sender_name(templates, "de-AT") == "Kundendienst"
    assert template_sender_name(templates, "fr") == "Customer care"
