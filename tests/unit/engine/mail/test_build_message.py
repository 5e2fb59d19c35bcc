"""The mail of one outbox row (engine/mail/mailer.py's ``build_message``), without a server."""

from __future__ import annotations

import uuid

import pytest

from frontdesk.engine.mail.mailer import DEFAULT_FROM, build_message


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
