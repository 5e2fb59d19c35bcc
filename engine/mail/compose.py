"""Mails to customers, composed: the chat transcript and the confirmation of an offline request.

Pure functions returning (subject, plain text, HTML). ``compose_transcript`` drops private
messages whatever the caller passes; every user string is escaped in the HTML part.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def compose_transcript(conversation: Any, messages: Sequence[Any], tz: ZoneInfo) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the transcript of ``conversation``; times in ``tz``."""
    public = [m for m in messages if not m["private"]]
    started = _local(conversation["created_at"], tz)
    subject = f"Your chat transcript ({started})"
    zone = tz.key
    lines = [f"Hello {conversation['customer_name']},", "",
             f"here is the transcript of your chat of {started} ({zone}).", ""]
    rows = []
    for m in public:
        when = _local(m["created_at"], tz)
        names = ", ".join(a["filename"] for a in (m["attachments"] or []))
        lines.append(f"[{when}] {m['sender_name']}: {m['text']}")
        if names:
            lines.append(f"    attachments: {names}")
        rows.append(
            f"<tr><td style=\"color:#666;white-space:nowrap;vertical-align:top\">{html.escape(when)}</td>"
            f"<td style=\"vertical-align:top\"><strong>{html.escape(m['sender_name'])}</strong></td>"
            f"<td style=\"white-space:pre-wrap\">{html.escape(m['text'])}"
            + (f"<br><em>attachments: {html.escape(names)}</em>" if names else "")
            + "</td></tr>")
    lines += ["", "Thank you for contacting us."]
    body_html = (
        "<!doctype html><html><body style=\"font-family:sans-serif\">"
        f"<p>Hello {html.escape(conversation['customer_name'])},</p>"
        f"<p>here is the transcript of your chat of {html.escape(started)} ({html.escape(zone)}).</p>"
        f"<table cellpadding=\"4\">{''.join(rows)}</table>"
        "<p>Thank you for contacting us.</p></body></html>")
    return subject, "\n".join(lines), body_html


def compose_offline_confirmation(request_number: str, name: str, question: str) -> tuple[str, str, str]:
    subject = f"We received your request {request_number}"
    text = (f"Hello {name},\n\nthank you for your message. Your request number is {request_number}; "
            f"we will get back to you as soon as we can.\n\nYour message:\n{question}\n")
    body_html = ("<!doctype html><html><body style=\"font-family:sans-serif\">"
                 f"<p>Hello {html.escape(name)},</p><p>thank you for your message. Your request number is "
                 f"<strong>{html.escape(request_number)}</strong>; we will get back to you as soon as we can.</p>"
                 f"<p>Your message:</p><blockquote style=\"white-space:pre-wrap\">{html.escape(question)}</blockquote>"
                 "</body></html>")
    return subject, text, body_html


_NOTIFY = {
    "en": {"subject": "New reply to your message ({queue})",
           "hello": "Hello {name},",
           "intro": "you have a new reply to your conversation with {queue}:",
           "open": "Open the conversation to read it and answer:",
           "note": "The link opens this conversation without signing in; keep it to yourself."},
    "de": {"subject": "Neue Antwort auf Ihre Nachricht ({queue})",
           "hello": "Hallo {name},",
           "intro": "Sie haben eine neue Antwort in Ihrem Gespräch mit {queue}:",
           "open": "Öffnen Sie das Gespräch, um zu lesen und zu antworten:",
           "note": "Der Link öffnet dieses Gespräch ohne Anmeldung; geben Sie ihn nicht weiter."},
}


# what a queue's per-language template may hold: each line of the notification mail, and the
# display name its mails are sent from (the queue's ``sender_name`` otherwise)
TEMPLATE_LANGUAGES = tuple(_NOTIFY)
TEMPLATE_KEYS = ("sender_name", *_NOTIFY["en"])


def template_sender_name(templates: dict[str, Any] | None, language: str) -> str | None:
    """The sender name the queue's template in ``language`` gives (English when it has none), or None."""
    lang = language if language in _NOTIFY else "en"
    return ((templates or {}).get(lang) or {}).get("sender_name") or None


def compose_notification(name: str, queue_title: str, language: str, messages: Sequence[Any], link: str,
                         templates: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the mail that tells a customer an agent replied: the new public
    messages and the link back. Private messages are dropped whatever the caller passes. The
    queue's ``templates`` (per language) may replace any line; English when the language has none."""
    lang = language if language in _NOTIFY else "en"
    words = {**_NOTIFY[lang], **((templates or {}).get(lang) or {})}
    public = [m for m in messages if not m["private"]]

    def fill(key: str) -> str:
        # placeholders by plain replacement: a template is text, never a format string that could
        # reach attributes of the values
        return str(words[key]).replace("{name}", name).replace("{queue}", queue_title)

    subject = " ".join(fill("subject").split())    # one line, whatever a template holds
    lines = [fill("hello"), "", fill("intro"), ""]
    rows = []
    for m in public:
        lines.append(f"{m['sender_name']}: {m['text']}")
        rows.append(f"<p><strong>{html.escape(m['sender_name'])}</strong><br>"
                    f"<span style=\"white-space:pre-wrap\">{html.escape(m['text'])}</span></p>")
    lines += ["", words["open"], link, "", words["note"]]
    body_html = (f"<p>{html.escape(fill('hello'))}</p>"
                 f"<p>{html.escape(fill('intro'))}</p>{''.join(rows)}"
                 f"<p>{html.escape(words['open'])}<br><a href=\"{html.escape(link, quote=True)}\">"
                 f"{html.escape(link)}</a></p><p style=\"color:#666\">{html.escape(words['note'])}</p>")
    return subject, "\n".join(lines), body_html
