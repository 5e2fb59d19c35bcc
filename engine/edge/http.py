"""What every HTTP route shares: JSON replies and errors, the body read with its limit, the caller
known by its bearer token.

Every error is ``{"error": {"code", "message", "field"?}}`` with the status of PROTOCOL.md §3.
Every answer carries ``PRIVATE_HEADERS``: answers hold tokens, names, e-mail addresses and
messages, which no shared or browser cache may keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from quart import Response, has_request_context, request

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError, http_status
from frontdesk.engine.runtime.config import MAX_JSON_BODY_BYTES
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database

# A bearer header longer than this is no token of ours; it is refused before any lookup.
MAX_AUTHORIZATION_BYTES = 200

# also sent by the chat door (chat_door.py), whose answer carries a customer token
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json", headers=PRIVATE_HEADERS)


def empty_response(status: int = 204) -> Response:
    return Response(b"", status=status, headers=PRIVATE_HEADERS)


def error_response(exc: FrontdeskError) -> Response:
    response = json_response(exc.to_http(), http_status(exc))
    if has_request_context() and (request.content_length or request.headers.get("Transfer-Encoding")):
        # the body may be left unread (refused early, e.g. 413 or 401 on an upload): a kept-alive
        # connection would then wait for it and hang the client's next request, so close it
        response.headers["Connection"] = "close"
    return response


async def read_body() -> bytes:
    """The request body, refused with 413 as soon as it passes MAX_JSON_BODY_BYTES."""
    if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
        raise FrontdeskError("too_large", "the body is too large")
    data = bytearray()
    async for chunk in request.body:
        data += chunk
        if len(data) > MAX_JSON_BODY_BYTES:
            raise FrontdeskError("too_large", "the body is too large")
    return bytes(data)


@dataclass(frozen=True)
class Caller:
    """Who sent a request, from its bearer token."""

    kind: str           # agent | supervisor | customer
    subject_id: str     # the staff member's id; the conversation's id for a customer
    token_hash: bytes   # what the tokens table knows the caller's token by


async def authenticate(db: Database, *kinds: str) -> Caller:
    """The caller of this request; 401 without a valid token, 403 when its kind is not in ``kinds``."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > MAX_AUTHORIZATION_BYTES:
        raise FrontdeskError("unauthenticated", "a bearer token is required")
    token_hash = auth.token_hash(header[7:].strip())
    row = await queries.token_subject(db, token_hash)
    if row is None:
        raise FrontdeskError("unauthenticated", "bad or expired token")
    if row["kind"] not in kinds:
        raise FrontdeskError("forbidden", "this token may not do that")
    return Caller(row["kind"], str(row["subject_id"]), token_hash)
