"""The mail of one outbox row (engine/mail/mailer.py's ``build_message``), without a server."""

from __future__ import annotations

import uuid

import pytest

from frontdesk.engine.mail.mailer import DEFAULT_FROM, build_message
from frontdesk.engine.mail.qr import QR_CONTENT_ID
from tests.qr_reading import read_qr


def row(**changes: object) -> dict[str, object]:
    return {"id": uuid.uuid4(), "recipient": "cora@example.com", "subject": "Your chat transcript",
            "body_text": "Hello", "body_html": "<p>Hello</p>", **changes}


def test_every_attempt_at_one_row_carries_the_same_message_id_and_another_row_another() -> None:
    mail = row()
    first, again = build_message(mail, DEFAULT_FROM), build_message(mail, DEFAULT_FROM)
    assert first["Message-ID"] == again["Message-ID"] == f"<{mail['id']}@frontdesk.local>"
    assert build_message(row(), DEFAULT_FROM)["Message-ID"] != first["Message-ID"]


def test_a_header_that_would_break_out_of_its_line_is_refused() -> None:
    with pytest.raises(ValueError):
        build_message(row(subject="Transcript\r\nBcc: x@evil.test"), DEFAULT_FROM)
    with pytest.raises(ValueError):
        build_message(row(recipient="a@example.com, b@example.com"), DEFAULT_FROM)


def test_a_mail_with_a_qr_text_carries_the_code_as_an_image_its_html_part_shows() -> None:
    link = "https://help.example.com/account?lang=en#email=cora@example.com"
    mail = build_message(row(body_html=f'<p><img src="cid:{QR_CONTENT_ID}"></p>', qr_text=link), DEFAULT_FROM)
    (image,) = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == f"<{QR_CONTENT_ID}>"
    assert image.get_content_disposition() == "inline"
    assert read_qr(image.get_content()) == [link]
    assert mail.get_body(("plain",)).get_content().strip() == "Hello"      # the plain part is untouched


def test_a_mail_without_a_qr_text_has_no_image() -> None:
    mail = build_message(row(qr_text=None), DEFAULT_FROM)
    assert [p.get_content_type() for p in mail.walk() if p.get_content_maintype() == "image"] == []
