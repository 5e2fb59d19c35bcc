"""What every HTTP route shares: JSON replies and errors, the body read with its limit, the caller
known by its bearer token.

Every error is ``{"error": {"code", "message", "field"?}}`` with the status of PROTOCOL.md §3.
Every answer carries ``PRIVATE_HEADERS``: answers hold tokens, names, e-mail addresses and
messages, which no shared or browser cache may keep.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import trio
from quart import Response, has_request_context, request

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError, RateLimited, http_status
from frontdesk.engine.edge.throttles import Throttles
from frontdesk.engine.runtime.config import MAX_JSON_BODY_BYTES
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database

# A bearer header longer than this is no token of ours; it is refused before any lookup.
MAX_AUTHORIZATION_BYTES = 200
# A JSON body must arrive within this, as on the chat door: a client that trickles it holds a task.
BODY_TIMEOUT_S = 10.0
# An upload may be slow, not stalled: no pause longer than UPLOAD_IDLE_S, and after UPLOAD_GRACE_S at
# least UPLOAD_MIN_BYTES_PER_S on average (a slow phone line, not one byte every few seconds).
UPLOAD_IDLE_S = 30.0
UPLOAD_GRACE_S = 30.0
UPLOAD_MIN_BYTES_PER_S = 1024

# also sent by the chat door (chat_door.py), whose answer carries a customer token
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json", headers=PRIVATE_HEADERS)


def empty_response(status: int = 204) -> Response:
    return Response(b"", status=status, headers=PRIVATE_HEADERS)


def error_response(exc: FrontdeskError) -> Response:
    response = json_response(exc.to_http(), http_status(exc))
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if has_request_context() and (request.content_length or request.headers.get("Transfer-Encoding")):
        # the body may be left unread (refused early, e.g. 413 or 401 on an upload): a kept-alive
        # connection would then wait for it and hang the client's next request, so close it
        response.headers["Connection"] = "close"
    return response


def client_address(throttles: Throttles) -> str:
    """The client's IP address, as the throttles key it (edge/throttles.py)."""
    return throttles.address(request.remote_addr or "", request.headers.get("X-Forwarded-For"))


async def read_body() -> bytes:
    """The request body, refused with 413 as soon as it passes MAX_JSON_BODY_BYTES and with 408 when
    it has not arrived within BODY_TIMEOUT_S."""
    if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
        raise FrontdeskError("too_large", "the body is too large")
    data = bytearray()
    with trio.move_on_after(BODY_TIMEOUT_S) as waited:
        async for chunk in request.body:
            data += chunk
            if len(data) > MAX_JSON_BODY_BYTES:
                raise FrontdeskError("too_large", "the body is too large")
    if waited.cancelled_caught:
        raise FrontdeskError("timeout", "the request did not arrive in time")
    return bytes(data)


async def paced(body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """``body``'s chunks, as long as they keep coming at an upload's pace; else 408 ``timeout``."""
    chunks = aiter(body)
    started = trio.current_time()
    received = 0
    while True:
        with trio.move_on_after(UPLOAD_IDLE_S) as waited:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return
        if waited.cancelled_caught:
            raise FrontdeskError("timeout", "the upload stalled")
        received += len(chunk)
        elapsed = trio.current_time() - started
        if elapsed > UPLOAD_GRACE_S and received < elapsed * UPLOAD_MIN_BYTES_PER_S:
            raise FrontdeskError("timeout", "the upload is too slow")
        yield chunk


@dataclass(frozen=True)
class Caller:
    """Who sent a request, from its bearer token."""

    kind: str           # agent | supervisor | customer (a link token too) | account
    subject_id: str     # the staff member's id; the conversation's id for a customer; the customer's for an account
    token_hash: bytes   # what the tokens table knows the caller's token by
    token_kind: str = ""  # the token's own kind: ``link`` where ``kind`` says customer


async def authenticate(db: Database, *kinds: str, restricted_ok: bool = False) -> Caller:
    """The caller of this request; 401 without a valid token, 403 when its kind is not in ``kinds``.

    A restricted token (a customer's first sign-in after activation) may only set a password:
    anywhere but where ``restricted_ok`` it is 403 ``password_change_required``."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > MAX_AUTHORIZATION_BYTES:
        raise FrontdeskError("unauthenticated", "a bearer token is required")
    token_hash = auth.token_hash(header[7:].strip())
    row = await queries.token_subject(db, token_hash)
    if row is None:
        raise FrontdeskError("unauthenticated", "bad or expired token")
    if row["restricted"] and not restricted_ok:
        raise FrontdeskError("password_change_required", "set a password first (POST /api/customers/password)")
    # a mail's link token carries a customer token's rights for its one conversation (PROTOCOL.md §14)
    kind = "customer" if row["kind"] == "link" else row["kind"]
    if kind not in kinds:
        raise FrontdeskError("forbidden", "this token may not do that")
    return Caller(kind, str(row["subject_id"]), token_hash, row["kind"])
