"""core/auth.py: the identity HMAC check (PROTOCOL.md §3's lowercase hex HMAC-SHA256 of the e-mail, and
an answer rather than an exception for whatever string a client sends), and one-time codes."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.core.auth import code_hash, identity_hmac_ok, new_code, same_hash

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


# ---- one-time codes -----------------------------------------------------------------------

def test_a_code_has_the_digits_asked_for_leading_zeros_included() -> None:
    codes = {new_code(6) for _ in range(2000)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert any(c.startswith("0") for c in codes)        # drawn from 000000..999999, not 100000..
    assert len(codes) > 1990                            # random, not a sequence
    assert len(new_code(8)) == 8


def test_a_code_hash_binds_the_code_to_its_customer() -> None:
    a, b = "0b9a8a66-5c2e-4c52-9e43-2cfb0a3b3f61", "9c2e1c5e-9d0c-4e0c-8a8e-1f0f0b7b4d22"
    assert code_hash(a, "123456") == code_hash(a, "123456")
    assert code_hash(a, "123456") != code_hash(b, "123456")
    assert code_hash(a, "123456") != code_hash(a, "123457")
    assert b"123456" not in code_hash(a, "123456")


def test_same_hash_compares_whole_hashes_of_any_length() -> None:
    stored = code_hash("c", "123456")
    assert same_hash(stored, code_hash("c", "123456"))
    assert not same_hash(stored, code_hash("c", "654321"))
    assert not same_hash(stored, stored[:-1])
    assert not same_hash(b"\x00" * 32, stored)
