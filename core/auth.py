"""Passwords, bearer tokens and one-time codes.

Passwords are hashed with argon2id (argon2-cffi, the reference implementation's binding);
hashing and verifying take tens of milliseconds of CPU on purpose and block: the engine calls
them in a worker thread so they never stall its event loop. Tokens are 256 random bits (``secrets``), shown to the
client once; the database keeps only their SHA-256, so a leaked table grants nothing.

One-time codes (a customer's sign-in or activation code) are decimal digits drawn with ``secrets``
and stored as the SHA-256 of the customer's id and the code, so a stored hash matches that
customer's code only; a given code is compared with the stored hash in constant time. A code has
few digits, so what keeps it from being guessed is its short life and its few tries, not its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
TOKEN_BYTES = 32  # 256 bits

# Verifying against this keeps the time of a login for an unknown e-mail equal to a wrong
# password, so the answer does not reveal which accounts exist.
_DUMMY_HASH = _HASHER.hash("frontdesk-dummy-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account (None) costs the same time."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, bytes]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def new_code(digits: int) -> str:
    """A one-time code of ``digits`` decimal digits, uniformly drawn (leading zeros kept)."""
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


def code_hash(customer_id: str, code: str) -> bytes:
    """What is stored of ``code``: bound to its customer, so it matches no other customer's row."""
    return hashlib.sha256(f"{customer_id}:{code}".encode("utf-8", "surrogatepass")).digest()


def same_hash(stored: bytes, given: bytes) -> bool:
    """Constant-time comparison: the time taken tells nothing of how much of a code was right."""
    return hmac.compare_digest(bytes(stored), bytes(given))


def identity_hmac_ok(secret: str | None, email: str, given: str) -> bool:
    """PROTOCOL.md §3: ``hmac`` is lowercase hex HMAC-SHA256 of the e-mail, keyed by the queue secret.

    Any strings get an answer: ``given`` is compared as bytes, since ``compare_digest`` raises on
    a str with non-ASCII characters."""
    if not secret or not given:
        return False
    expected = hmac.new(secret.encode("utf-8", "surrogatepass"), email.encode("utf-8", "surrogatepass"),
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "surrogatepass"))
