"""Customers' accounts (PROTOCOL.md §6, §14): sign-in codes, sign-in by code or password, the
password, sign-out, and the business's activation of a customer.

**No enumeration.** A code request does the same work for every address: it looks the address
up, draws and hashes a code, composes the mail and commits the same statements, which for an
address of no customer write nothing (``storage/customers.py``). A sign-in with an unknown
address takes a try of no code, or verifies the password against a dummy hash. So the answer,
and about the time it takes, is the same whether or not a customer has the address.

**Codes.** A customer has one live code at a time (a new one voids the old): ``CODE_DIGITS``
digits for a sign-in, ``ACTIVATION_CODE_DIGITS`` for an activation, stored hashed, valid
``code_ttl_s`` / ``activation_code_ttl_s``, ``CODE_TRIES`` tries. A try is taken before the code
is compared (in one statement), so parallel guesses cannot share one; the right code is spent
once, by whichever sign-in deletes it.

**Throttles** (``edge/throttles.py``): code requests per address; failed sign-ins per address
and per client address, checked before the code or password, so a locked address is refused
even the right one.

**Activation.** The business activates a customer: an activation code (by SMS when a mobile is
known, else in the mail), a mail with the sign-in link, and ``password_change_required`` set.
Every sign-in while it is set, whichever way, gets a restricted token that may only set a
password; setting one clears it and lifts the restriction of that token.

Errors: ``FrontdeskError`` (the caller maps its code to a status), ``DatabaseError`` (503).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import trio

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import utc_now
from frontdesk.engine.edge.account_view import customer_wire
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.customer_forms import CustomerLogin
from frontdesk.engine.edge.http import Caller
from frontdesk.engine.edge.sessions import token_key
from frontdesk.engine.mail.accounts import activation_sms, compose_activation_mail, compose_code_mail, signin_link
from frontdesk.engine.runtime.config import (
    ACCOUNT_TOKEN_TTL_S,
    ACTIVATION_CODE_DIGITS,
    CODE_DIGITS,
    CODE_TRIES,
    RESTRICTED_TOKEN_TTL_S,
)
from frontdesk.engine.storage import customers

# compared when there is no live code: the same constant-time comparison as with one
_NO_CODE = b"\x00" * 32


async def request_code(edge: EdgeContext, email: str) -> None:
    """Mail a sign-in code to the customer with ``email``; for an address of no customer, the same
    work and nothing sent. Raises ``RateLimited`` past the address's limit."""
    edge.throttles.code_request(email)
    row = await customers.customer_by_email(edge.db, email)
    customer_id = str(row["id"]) if row is not None else str(uuid.uuid4())     # no customer's id: writes nothing
    code = auth.new_code(CODE_DIGITS)
    ttl_s = edge.config.code_ttl_s
    subject, text, page = compose_code_mail(row["language"] if row else "en", row["name"] if row else "", code, ttl_s)
    await edge.persister.write([
        customers.set_code(customer_id, auth.code_hash(customer_id, code), "signin", CODE_TRIES,
                           utc_now() + timedelta(seconds=ttl_s)),
        customers.mail_to_customer(str(uuid.uuid4()), customer_id, subject, text, page)], customer_id)
    edge.outbox.nudge()


async def sign_in(edge: EdgeContext, form: CustomerLogin, address: str) -> dict[str, Any]:
    """The answer of ``POST /api/customers/login``: a token, the customer and whether it must set a
    password first. 401 ``bad_code`` / ``bad_credentials`` for a wrong code or password and for an
    unknown address alike."""
    edge.throttles.check_customer_signin(form.email, address)
    row = await customers.customer_by_email(edge.db, form.email)
    customer_id = str(row["id"]) if row is not None else str(uuid.uuid4())
    restricted = bool(row["password_change_required"]) if row is not None else False
    token, token_hash = auth.new_token()
    expires_at = utc_now() + timedelta(seconds=RESTRICTED_TOKEN_TTL_S if restricted else ACCOUNT_TOKEN_TTL_S)
    if form.code is not None:
        ok, failure = await _spend_code(edge, customer_id, form.code, token_hash, restricted, expires_at), "bad_code"
    else:
        stored = row["password_hash"] if row is not None else None
        ok = await trio.to_thread.run_sync(auth.verify_password, stored, form.password or "")
        failure = "bad_credentials"
    if not ok or row is None:
        edge.throttles.failed_customer_signin(form.email, address)
        raise FrontdeskError(failure, "wrong e-mail address or code" if failure == "bad_code"
                             else "wrong e-mail address or password")
    if form.code is None:
        await edge.persister.write([customers.insert_account_token(token_hash, customer_id, restricted, expires_at)])
    return {"token": token, "customer": customer_wire(row), "password_change_required": restricted}


async def _spend_code(edge: EdgeContext, customer_id: str, code: str, token_hash: bytes, restricted: bool,
                      expires_at: datetime) -> bool:
    """Take a try of the customer's live code and, when ``code`` is it, exchange it for the token
    ``token_hash``; a wrong code costs its try and stores nothing."""
    given = auth.code_hash(customer_id, code)
    live = await customers.take_code_try(edge.db, customer_id)
    stored = bytes(live["code_hash"]) if live is not None else _NO_CODE
    if not auth.same_hash(stored, given) or live is None:
        return False
    return await customers.exchange_code(edge.db, customer_id, stored, token_hash, restricted, expires_at)


async def set_password(edge: EdgeContext, who: Caller, password: str) -> None:
    """The caller's new password (argon2id, in a worker thread); the token lives on unrestricted."""
    password_hash = await trio.to_thread.run_sync(auth.hash_password, password)
    await edge.persister.write(customers.set_password(
        who.subject_id, password_hash, who.token_hash, utc_now() + timedelta(seconds=ACCOUNT_TOKEN_TTL_S)))


async def sign_out(edge: EdgeContext, who: Caller, everywhere: bool) -> None:
    """Revoke the caller's token; ``everywhere``: every account and link token of the customer.
    The revoked tokens' open sockets end with them."""
    revoked = await customers.revoke_account_tokens(edge.db, who.token_hash, who.subject_id, everywhere)
    for token_hash in revoked:
        for session in edge.sessions.holding(token_key(token_hash)):
            session.revoke()


async def activate(edge: EdgeContext, customer_id: str) -> dict[str, Any] | None:
    """Activate a customer for its account; None when there is no such customer."""
    row = await customers.customer(edge.db, customer_id)
    if row is None:
        return None
    customer_id = str(row["id"])
    code = auth.new_code(ACTIVATION_CODE_DIGITS)
    ttl_s = edge.config.activation_code_ttl_s
    by_sms = row["mobile"] is not None
    link = signin_link(edge.config.link_base, row["email"], row["language"])
    subject, text, page = compose_activation_mail(row["language"], row["name"], row["email"], link,
                                                  None if by_sms else code, ttl_s)
    now = utc_now()
    statements = [customers.set_code(customer_id, auth.code_hash(customer_id, code), "activation", CODE_TRIES,
                                     now + timedelta(seconds=ttl_s)),
                  customers.activate(customer_id, now),
                  customers.mail_to_customer(str(uuid.uuid4()), customer_id, subject, text, page, qr_text=link)]
    if by_sms:
        statements.append(customers.sms_to_customer(str(uuid.uuid4()), customer_id,
                                                    activation_sms(row["language"], code, ttl_s)))
    await edge.persister.write(statements, customer_id)
    edge.outbox.nudge()
    if by_sms:
        edge.sms.nudge()
    return {"status": "queued", "code_sent_by": "sms" if by_sms else "email", "signin_link": link}
