"""Mails to customers, composed: the chat transcript, the confirmation of an offline request and
the notification of a reply, in German or English by the customer's language (``language_of``:
German for ``de``, ``de-CH``, ...; English for any other).

Pure functions returning (subject, plain text, HTML). Subjects are fixed texts of the language
(with a date or a request number the engine made), never made of what a customer typed;
``compose_transcript`` drops private messages whatever the caller passes; every user string is
escaped in the HTML part.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk.engine.mail.accounts import language_of

_TRANSCRIPT = {
    "en": {"time": "%Y-%m-%d %H:%M",
           "subject": "Your chat transcript ({started})",
           "hello": "Hello {name},",
           "intro": "here is the transcript of your chat of {started} ({zone}).",
           "attachments": "attachments: {names}",
           "thanks": "Thank you for contacting us."},
    "de": {"time": "%d.%m.%Y %H:%M",
           "subject": "Ihr Chatverlauf ({started})",
           "hello": "Hallo {name},",
           "intro": "hier ist der Verlauf Ihres Chats vom {started} ({zone}).",
           "attachments": "Anhänge: {names}",
           "thanks": "Vielen Dank, dass Sie sich an uns gewandt haben."},
}

_OFFLINE = {
    "en": {"subject": "We received your request {number}",
           "hello": "Hello {name},",
           "thanks": "thank you for your message. Your request number is {number}; we will get back to you as "
                     "soon as we can.",
           "yours": "Your message:"},
    "de": {"subject": "Wir haben Ihre Anfrage {number} erhalten",
           "hello": "Hallo {name},",
           "thanks": "vielen Dank für Ihre Nachricht. Ihre Anfragenummer ist {number}; wir melden uns so bald wie "
                     "möglich bei Ihnen.",
           "yours": "Ihre Nachricht:"},
}


def _fill(text: str, **values: str) -> str:
    """Placeholders by plain replacement: what is filled in is text, never a format string."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def compose_transcript(conversation: Any, messages: Sequence[Any], tz: ZoneInfo,
                       language: str = "en") -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the transcript of ``conversation`` in the customer's
    ``language``; times in ``tz``."""
    words = _TRANSCRIPT[language_of(language)]
    public = [m for m in messages if not m["private"]]

    def local(at: datetime) -> str:
        return at.astimezone(tz).strftime(words["time"])

    started = local(conversation["created_at"])
    zone = tz.key
    name = conversation["customer_name"]
    subject = _fill(words["subject"], started=started)
    hello, intro = words["hello"], _fill(words["intro"], started=started, zone=zone)
    lines = [_fill(hello, name=name), "", intro, ""]
    rows = []
    for m in public:
        when = local(m["created_at"])
        names = ", ".join(a["filename"] for a in (m["attachments"] or []))
        lines.append(f"[{when}] {m['sender_name']}: {m['text']}")
        if names:
            lines.append("    " + _fill(words["attachments"], names=names))
        rows.append(
            f"<tr><td style=\"color:#666;white-space:nowrap;vertical-align:top\">{html.escape(when)}</td>"
            f"<td style=\"vertical-align:top\"><strong>{html.escape(m['sender_name'])}</strong></td>"
            f"<td style=\"white-space:pre-wrap\">{html.escape(m['text'])}"
            + (f"<br><em>{html.escape(_fill(words['attachments'], names=names))}</em>" if names else "")
            + "</td></tr>")
    lines += ["", words["thanks"]]
    body_html = (
        f"<!doctype html><html lang=\"{language_of(language)}\"><body style=\"font-family:sans-serif\">"
        f"<p>{html.escape(_fill(hello, name=name))}</p>"
        f"<p>{html.escape(intro)}</p>"
        f"<table cellpadding=\"4\">{''.join(rows)}</table>"
        f"<p>{html.escape(words['thanks'])}</p></body></html>")
    return subject, "\n".join(lines), body_html


def compose_offline_confirmation(request_number: str, name: str, question: str,
                                 language: str = "en") -> tuple[str, str, str]:
    """(subject, plain text, HTML) confirming an offline request, in the customer's ``language``."""
    lang = language_of(language)
    words = _OFFLINE[lang]
    subject = _fill(words["subject"], number=request_number)
    hello = _fill(words["hello"], name=name)
    thanks = _fill(words["thanks"], number=request_number)
    text = f"{hello}\n\n{thanks}\n\n{words['yours']}\n{question}\n"
    before, _, after = words["thanks"].partition("{number}")
    body_html = (f"<!doctype html><html lang=\"{lang}\"><body style=\"font-family:sans-serif\">"
                 f"<p>{html.escape(hello)}</p><p>{html.escape(before)}"
                 f"<strong>{html.escape(request_number)}</strong>{html.escape(after)}</p>"
                 f"<p>{html.escape(words['yours'])}</p>"
                 f"<blockquote style=\"white-space:pre-wrap\">{html.escape(question)}</blockquote>"
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
    lang = language_of(language)
    return ((templates or {}).get(lang) or {}).get("sender_name") or None


def compose_notification(name: str, queue_title: str, language: str, messages: Sequence[Any], link: str,
                         templates: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the mail that tells a customer an agent replied: the new public
    messages and the link back. Private messages are dropped whatever the caller passes. The
    queue's ``templates`` (per language) may replace any line; English when the language has none."""
    lang = language_of(language)
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
