"""The mails and SMS of customers' accounts (engine/mail/accounts.py): German or English by the
customer's language, plain text and HTML, what the customer or staff typed escaped in HTML, and
subjects never made of it."""

from __future__ import annotations

import re

import pytest

from frontdesk.engine.mail.accounts import (
    activation_sms,
    compose_activation_mail,
    compose_code_mail,
    duration,
    language_of,
    signin_link,
)

HOSTILE = "<b>Eve</b> & \"friends\""


@pytest.mark.parametrize(("stored", "language"), [("de", "de"), ("de-CH", "de"), ("DE", "de"), ("en", "en"),
                                                  ("fr", "en"), ("", "en"), (None, "en")])
def test_german_for_german_english_for_every_other_language(stored: str | None, language: str) -> None:
    assert language_of(stored) == language


def test_durations_use_the_largest_whole_unit_in_the_customers_language() -> None:
    assert duration(600, "en") == "10 minutes" and duration(600, "de") == "10 Minuten"
    assert duration(60, "en") == "1 minute" and duration(1, "de") == "1 Minute"
    assert duration(72 * 3600, "en") == "3 days" and duration(72 * 3600, "de") == "3 Tage"
    assert duration(3600, "de") == "1 Stunde" and duration(90 * 60, "en") == "90 minutes"


def test_the_code_mail_says_the_code_and_its_lifetime() -> None:
    subject, text, page = compose_code_mail("en", "Cora", "012345", 600)
    assert subject == "Your sign-in code"
    assert "012345" in text and "10 minutes" in text and text.startswith("Hello Cora,")
    assert "012345" in page and "10 minutes" in page
    subject, text, page = compose_code_mail("de", "Cora", "012345", 600)
    assert subject == "Ihr Anmeldecode" and "10 Minuten gültig" in text and text.startswith("Hallo Cora,")


def test_a_name_is_text_in_the_plain_part_and_escaped_in_html_and_never_in_a_subject() -> None:
    for subject, text, page in (compose_code_mail("en", HOSTILE, "012345", 600),
                                compose_activation_mail("en", HOSTILE, "c@example.com", "http://x/account?lang=en",
                                                        "01234567", 3600)):
        assert HOSTILE in text and HOSTILE not in page
        assert "&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;friends&quot;" in page
        assert "Eve" not in subject


def test_the_activation_mail_holds_the_link_and_the_code_unless_it_goes_by_sms() -> None:
    link = signin_link("https://help.example.com", "c+1@example.com", "de-CH")
    assert link == "https://help.example.com/account?lang=de#email=c%2B1@example.com"
    _, text, page = compose_activation_mail("en", "Cora", "c+1@example.com", link, "01234567", 72 * 3600)
    assert link in text and "01234567" in text and "3 days" in text
    assert f'href="{link}"' in page and "01234567" in page
    _, text, page = compose_activation_mail("de", "Cora", "c+1@example.com", link, None, 72 * 3600)
    assert link in text and "per SMS" in text and "3 Tage" in text
    assert not re.search(r"\b\d{6,}\b", text)          # no code in a mail when it goes by SMS


def test_the_activation_sms_is_short_and_in_the_customers_language() -> None:
    assert activation_sms("en", "01234567", 72 * 3600).startswith("Your activation code: 01234567 (valid for 3 days)")
    assert activation_sms("de", "01234567", 72 * 3600).startswith("Ihr Aktivierungscode: 01234567 (3 Tage gültig)")
    assert len(activation_sms("de", "01234567", 72 * 3600)) <= 160
