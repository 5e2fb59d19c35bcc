"""One e-mail message as the import needs it: who wrote it to whom, when, its text and attachments.

The standard library does the reading (``email.parser.BytesParser`` with ``email.policy.default``):
addresses come from its address headers, the date from its date header, the text from the
plain-text body part it finds (``get_body``). A mail with an HTML body only is rendered as plain
text (``html_text.py``). Quoted reply tails stay in the text as the sender sent them.

Attachments are every leaf part that is not the body: parts marked as attachments, inline images
and files, and forwarded messages (kept whole, as ``.eml``). Text parts without a file name
besides the body (the HTML twin of a plain body, a list footer) are not attachments.

Error handling: a message is skipped, with its reason, when it has no parsable From address or
Date, or neither a body nor an attachment, or when the ``email`` package fails on it (``malformed``).
Writing an attachment's bytes (``stash``) is not the message's fault: its ``OSError`` propagates.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from frontdesk.core.filenames import sanitize_filename
from frontdesk.engine.importer.html_text import html_to_text
from frontdesk.engine.importer.model import Attachment, Mail, Party, Skipped

NO_FROM = "no parsable From address"
NO_DATE = "no parsable Date"
NO_CONTENT = "no body and no attachment"
MALFORMED = "malformed"

# Longer texts are cut here: a message is shown whole in a conversation, and PostgreSQL's text
# search (the dashboard's index over every message) refuses texts past a megabyte.
MAX_TEXT_CHARS = 100_000
TRUNCATED = "\n[…]"
# A Message-ID is "<left@right>"; In-Reply-To and References are lists of them (RFC 5322 §3.6.4).
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Control characters never belong in a text or a name; NUL cannot even be stored in PostgreSQL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bytes the parser could not decode, as Python's surrogate escapes.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")

Stash = Callable[[bytes], tuple[Path, str]]     # bytes -> (staged path, SHA-256)

_PARSER = BytesParser(policy=policy.default)


class _Malformed(Exception):
    """The message cannot be imported; the text is the reason."""


def parse_mail(raw: bytes, origin: str, order: int, stash: Stash) -> Mail | Skipped:
    """The mail in ``raw``, or why it is skipped. ``origin`` names where it was read (for reports)
    and ``order`` its place in the import; each attachment's bytes go to ``stash``."""
    message_id: str | None = None
    try:
        msg = _PARSER.parsebytes(raw)
        message_id = _message_id(msg)
        fields, body_parts = _fields(msg, message_id)
        parts = list(_attachment_parts(msg, body_parts))
    except _Malformed as exc:
        return Skipped(origin, str(exc), message_id)
    # The email package raises assorted exceptions on malformed headers (AttributeError, IndexError,
    # ValueError, ...) where it does not record a defect; any of them skips this message alone.
    except Exception as exc:
        return Skipped(origin, f"{MALFORMED}: {type(exc).__name__}: {exc}", message_id)
    if not fields["text"] and not parts:
        return Skipped(origin, NO_CONTENT, message_id)
    attachments = []
    for filename, content_type, data in parts:
        staged, sha256 = stash(data)
        attachments.append(Attachment(filename, content_type, len(data), sha256, staged))
    source_id = message_id or _fingerprint(fields, attachments)
    return Mail(source_id=source_id, message_id=message_id, origin=origin, order=order,
                attachments=tuple(attachments), **fields)


def clean(text: str) -> str:
    """``text`` as it can be stored: undecodable bytes recovered or replaced, no control characters."""
    if _ESCAPED_BYTES.search(text):
        # header bytes the parser could not decode come as surrogate escapes: most are UTF-8
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", "replace")
    text = text.encode("utf-8", "replace").decode("utf-8")     # any other lone surrogate
    return _CONTROLS.sub("", text)


def _message_id(msg: EmailMessage) -> str | None:
    value = clean(str(msg.get("Message-ID") or "")).strip()
    found = _MESSAGE_ID.search(value)
    if found:
        return found.group(0)
    return value if value and not any(ch.isspace() for ch in value) else None


def _fields(msg: EmailMessage, own: str | None) -> tuple[dict[str, Any], list[MIMEPart]]:
    """The fields of the ``Mail`` that come from its headers and body, and the body's parts."""
    sender = _first_address(msg, "From")
    if sender is None:
        raise _Malformed(NO_FROM)
    date = _date(msg)
    if date is None:
        raise _Malformed(NO_DATE)
    parents: list[str] = []
    for header in ("In-Reply-To", "References"):
        for found in _MESSAGE_ID.findall(clean(str(msg.get(header) or ""))):
            if found != own and found not in parents:
                parents.append(found)
    recipients = tuple(p for header in ("To", "Cc") for p in _addresses(msg, header))
    text, body_parts = _body(msg)
    return {"sender": sender, "recipients": recipients, "date": date, "parents": tuple(parents),
            "subject": clean(str(msg.get("Subject") or "")).strip(), "text": text}, body_parts


def _addresses(msg: EmailMessage, header: str) -> Iterator[Party]:
    for value in msg.get_all(header) or ():
        for address in getattr(value, "addresses", ()):
            user, domain = address.username, address.domain
            if user and domain and not any(ch.isspace() for ch in user + domain):
                yield Party(clean(address.display_name).strip(), clean(address.addr_spec))


def _first_address(msg: EmailMessage, header: str) -> Party | None:
    return next(_addresses(msg, header), None)


def _date(msg: EmailMessage) -> datetime | None:
    header = msg.get("Date")
    moment = getattr(header, "datetime", None)
    if not isinstance(moment, datetime):
        return None
    # a date without a zone ("-0000" or none given) is taken as UTC
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _body(msg: EmailMessage) -> tuple[str, list[MIMEPart]]:
    """The text, and the parts it came from. An HTML twin of a plain body is no attachment either:
    it is a text part without a file name (``_attachment_parts``)."""
    # every header is parsed again each time it is read (email.policy.default): the body is looked
    # for once, and for the HTML part again only when the plain one is missing or blank
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return "", []
    parts = [body]
    if body.get_content_subtype() == "html":
        text = html_to_text(_text_of(body))
    else:
        text = _text_of(body)
        if not text.strip():
            html = msg.get_body(preferencelist=("html",))
            if html is not None:
                parts.append(html)
                text = html_to_text(_text_of(html))
    text = clean(text.replace("\r\n", "\n")).rstrip()
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + TRUNCATED
    return text, parts


def _text_of(part: Any) -> str:
    try:
        return str(part.get_content())
    except LookupError:     # a charset Python does not know: its bytes are most likely UTF-8
        payload = part.get_payload(decode=True) or b""
        return bytes(payload).decode("utf-8", "replace")


def _leaves(part: MIMEPart, top: bool = True) -> Iterator[MIMEPart]:
    """The parts that hold content; a forwarded message is one part, not opened."""
    if not part.is_multipart():
        yield part
    elif part.get_content_type() == "message/rfc822" and not top:
        yield part
    else:
        for sub in part.iter_parts():
            yield from _leaves(sub, top=False)


def _attachment_parts(msg: EmailMessage, body_parts: list[MIMEPart]) -> Iterator[tuple[str, str, bytes]]:
    """(file name, content type, bytes) of every attachment of ``msg``."""
    for part in _leaves(msg):
        if any(part is b for b in body_parts):
            continue
        filename = part.get_filename()
        if not part.is_attachment() and not filename and part.get_content_maintype() in ("text", "multipart"):
            continue
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload(0)
            data = inner.as_bytes(policy=policy.default) if isinstance(inner, Message) else b""
            default_name = "message.eml"
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            default_name = "attachment" + (mimetypes.guess_extension(content_type) or "")
        if data:
            yield sanitize_filename(clean(filename or default_name)), content_type, data


def _fingerprint(fields: dict[str, Any], attachments: list[Attachment]) -> str:
    """A stable id of a message without a Message-ID: the same mail read again (from the same file,
    or from another copy in another format) gets the same one."""
    digest = hashlib.sha256()
    for value in (fields["sender"].key, fields["date"].isoformat(), fields["subject"], fields["text"],
                  *(a.sha256 for a in attachments)):
        digest.update(value.encode("utf-8", "replace") + b"\x00")
    return "sha256:" + digest.hexdigest()
