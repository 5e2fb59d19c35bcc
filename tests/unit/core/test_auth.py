"""The identity HMAC check (core/auth.py): PROTOCOL.md §3's lowercase hex HMAC-SHA256 of the e-mail,
and an answer rather than an exception for whatever string a client sends."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.core.auth import identity_hmac_ok

SECRET = "demo-identity-secret"


def signed(email: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


def test_the_hmac_of_the_email_matches_in_either_case() -> None:
    assert identity_hmac_ok(SECRET, "vip@example.com", signed("vip@example.com"))
    assert identity_hmac_ok(SECRET, "vip@example.com", signed("vip@example.com").upper())


def test_another_email_another_secret_no_secret_or_no_hmac_do_not_match() -> None:
    assert not identity_hmac_ok(SECRET, "vip@example.com", signed("other@example.com"))
    assert not identity_hmac_ok(SECRET, "vip@example.com", signed("vip@example.com", "another-secret"))
    assert not identity_hmac_ok(None, "vip@example.com", signed("vip@example.com"))
    assert not identity_hmac_ok(SECRET, "vip@example.com", "")


@given(secret=st.text(), email=st.text(), given_hmac=st.text())
def test_any_strings_get_an_answer_not_an_exception(secret: str, email: str, given_hmac: str) -> None:
    assert identity_hmac_ok(secret, email, given_hmac) in (True, False)


def test_non_ascii_and_surrogates_do_not_match() -> None:
    for given_hmac in ("ä" * 64, "\ud800" * 64, "ß", signed("vip@example.com")[:-1] + "é"):
        assert not identity_hmac_ok(SECRET, "vip@example.com", given_hmac)
