"""One mail read for the import (``importer/parsing.py``, ``importer/html_text.py``): addresses,
date, text from the plain part (or the HTML part rendered), attachments, and the reasons a
message is skipped. Mails are built with the standard library, as a mail program writes them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from frontdesk.engine.importer.html_text import html_to_text
from frontdesk.engine.importer.model import Mail, Skipped
from frontdesk.engine.importer.parsing import (
    MAX_TEXT_CHARS,
    NO_CONTENT,
    NO_DATE,
    NO_FROM,
    parse_mail,
)

WHEN = datetime(2023, 3, 1, 9, 30, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


class Stash:
    """Keeps what the parser stashes, in memory."""

    def __init__(self) -> None:
        self.kept: dict[Path, bytes] = {}

    def __call__(self, data: bytes) -> tuple[Path, str]:
        path = Path(f"/staged/{len(self.kept)}")
        self.kept[path] = data
        return path, hashlib.sha256(data).hexdigest()


def message(body: str = "Where is my order?", **headers: str) -> EmailMessage:
    m = EmailMessage()
    defaults = {"From": "Cora Customer <cora@example.com>", "To": "support@shop.test", "Subject": "Order 17",
                "Date": format_datetime(WHEN), "Message-ID": "<c1@example.com>"}
    for name, value in {**defaults, **{k.replace("_", "-"): v for k, v in headers.items()}}.items():
        if value:
            m[name] = value
    m.set_content(body)
    return m


def parsed(raw: bytes | EmailMessage, stash: Stash | None = None) -> Mail:
    out = parse_mail(raw if isinstance(raw, bytes) else raw.as_bytes(), "box:1", 1, stash or Stash())
    assert isinstance(out, Mail), out
    return out


def skipped(raw: bytes | EmailMessage) -> Skipped:
    out = parse_mail(raw if isinstance(raw, bytes) else raw.as_bytes(), "box:7", 7, Stash())
    assert isinstance(out, Skipped), out
    return out


def test_a_plain_mail_gives_its_sender_recipients_date_subject_and_text() -> None:
    m = parsed(message("Where is my order?\n\n> quoted tail stays\n", Cc="Dan <dan@example.org>"))
    assert (m.sender.name, m.sender.email) == ("Cora Customer", "cora@example.com")
    assert [p.email for p in m.recipients] == ["support@shop.test", "dan@example.org"]
    assert m.date == WHEN and m.date.tzinfo is UTC
    assert (m.subject, m.text) == ("Order 17", "Where is my order?\n\n> quoted tail stays")
    assert (m.message_id, m.source_id, m.origin) == ("<c1@example.com>", "<c1@example.com>", "box:1")


def test_in_reply_to_and_references_are_the_parents_without_repeats() -> None:
    m = parsed(message(In_Reply_To="<a1@shop.test>", References="<c1@example.org> <a1@shop.test>"))
    assert m.parents == ("<a1@shop.test>", "<c1@example.org>")


def test_a_date_in_another_zone_is_stored_in_utc_and_one_without_a_zone_is_taken_as_utc() -> None:
    assert parsed(message(Date="Wed, 01 Mar 2023 10:30:00 +0100")).date == WHEN
    assert parsed(message(Date="Wed, 01 Mar 2023 09:30:00 -0000")).date == WHEN


def test_the_plain_part_is_the_text_and_its_html_twin_is_no_attachment() -> None:
    m = message("Plain words")
    m.add_alternative("<p>Rich <b>words</b></p>", subtype="html")
    out = parsed(m)
    assert (out.text, out.attachments) == ("Plain words", ())


def test_an_html_only_mail_is_rendered_as_plain_text() -> None:
    m = message()
    m.set_content("<html><head><style>p {color: red}</style></head><body><p>Hello <b>Cora</b>,</p>"
                  "<p>see <a href='https://shop.test/track'>tracking</a>:</p><ul><li>one</li><li>two</li></ul>"
                  "<p>Fish &amp; chips<br>Agent</p></body></html>", subtype="html")
    assert parsed(m).text == ("Hello Cora,\n\nsee tracking (https://shop.test/track):\n\n- one\n- two\n\n"
                              "Fish & chips\nAgent")


def test_html_rendering_drops_scripts_and_links_that_repeat_their_text() -> None:
    html = "<div>Write to <a href='mailto:help@shop.test'>help@shop.test</a></div><script>alert(1)</script>"
    assert html_to_text(html) == "Write to help@shop.test"


def test_attachments_keep_their_name_type_and_bytes() -> None:
    m = message("See the label")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="label.pdf")
    stash = Stash()
    out = parsed(m, stash)
    assert out.text == "See the label"
    [a] = out.attachments
    assert (a.filename, a.content_type, a.size) == ("label.pdf", "application/pdf", len(PDF))
    assert stash.kept[a.staged] == PDF and a.sha256 == hashlib.sha256(PDF).hexdigest()


def test_an_attachment_name_is_made_safe_and_a_nameless_one_is_named_by_its_type() -> None:
    m = message()
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="../../etc/x\x07.pdf")
    m.add_attachment(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png")
    assert [a.filename for a in parsed(m).attachments] == ["x.pdf", "attachment.png"]


def test_a_forwarded_message_is_one_attachment_kept_whole() -> None:
    inner = message("the original", Subject="Original", Message_ID="<orig@example.com>")
    m = message("FYI")
    m.add_attachment(inner)
    stash = Stash()
    [a] = parsed(m, stash).attachments
    assert (a.filename, a.content_type) == ("message.eml", "message/rfc822")
    assert b"the original" in stash.kept[a.staged] and b"Subject: Original" in stash.kept[a.staged]


def test_a_mail_with_an_attachment_and_no_text_is_imported() -> None:
    m = message()
    m.clear_content()
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="scan.pdf")
    out = parsed(m)
    assert out.text == "" and [a.filename for a in out.attachments] == ["scan.pdf"]


def test_a_mail_without_message_id_gets_the_same_fingerprint_each_time_it_is_read() -> None:
    first = parsed(message(Message_ID=""))
    again = parsed(message(Message_ID=""))
    other = parsed(message("Another text", Message_ID=""))
    assert first.message_id is None and first.source_id.startswith("sha256:")
    assert first.source_id == again.source_id != other.source_id


@pytest.mark.parametrize(("headers", "reason"), [
    ({"From": ""}, NO_FROM),
    ({"From": "Cora Customer"}, NO_FROM),
    ({"Date": ""}, NO_DATE),
    ({"Date": "yesterday, around noon"}, NO_DATE),
])
def test_a_mail_without_a_parsable_from_address_or_date_is_skipped(headers: dict[str, str], reason: str) -> None:
    out = skipped(message(**headers))
    assert (out.origin, out.reason, out.message_id) == ("box:7", reason, "<c1@example.com>")


def test_a_mail_with_neither_body_nor_attachment_is_skipped() -> None:
    assert skipped(message("   \n\n")).reason == NO_CONTENT


def test_a_header_the_email_package_fails_on_makes_the_message_malformed() -> None:
    raw = (b"From: Test <test@[127.0.0.1>\r\nDate: Wed, 01 Mar 2023 09:30:00 +0000\r\n"
           b"Message-ID: <bad@example.com>\r\n\r\nbody\r\n")
    out = skipped(raw)
    assert out.reason.startswith("malformed: ") and out.message_id == "<bad@example.com>"


def test_bytes_that_are_no_mail_are_skipped_for_lack_of_a_from_address() -> None:
    assert skipped(b"\x00\x01\x02 this is not a mail\n").reason == NO_FROM


def test_a_charset_python_does_not_know_is_read_as_utf8() -> None:
    raw = (b"From: cora@example.com\r\nDate: Wed, 01 Mar 2023 09:30:00 +0000\r\n"
           b"Content-Type: text/plain; charset=x-unknown-8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n")
    assert parsed(raw).text == "Grüße"


def test_undecoded_header_bytes_are_read_as_utf8_or_windows_1252() -> None:
    raw = (b"From: \"J\xc3\xbcrgen\" <j@example.com>\r\nTo: \"Ren\xe9\" <r@example.com>\r\n"
           b"Date: Wed, 01 Mar 2023 09:30:00 +0000\r\n\r\nHallo\r\n")
    out = parsed(raw)
    assert (out.sender.name, out.recipients[0].name) == ("Jürgen", "René")


def test_control_characters_are_removed_and_a_very_long_text_is_cut() -> None:
    assert parsed(message("a\x00b\x07c\td")).text == "abc\td"
    text = parsed(message("x" * (MAX_TEXT_CHARS + 50))).text
    assert text.startswith("x" * MAX_TEXT_CHARS) and text.endswith("[…]") and len(text) < MAX_TEXT_CHARS + 10
