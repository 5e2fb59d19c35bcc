"""Ratings (CSAT, PROTOCOL.md §9, §14): a customer rates a conversation once, after it ended (live)
or was resolved (messaging), with a score of 1–5 and an optional comment.

Who may rate: the conversation's customer, with its chat token, a link token of it, or an account
token of the customer it belongs to; anyone else gets 404, as for an absent conversation. Order of
the answers: 404, then 409 ``already_rated`` (a rated conversation that was reopened stays rated),
then 409 ``not_ended``. The insert re-checks the status as it commits (``storage/ratings.py``), so
a conversation reopened meanwhile is ``not_ended`` and a second rating racing the first is
``already_rated`` through the unique key.

A comment is text people read on the dashboard: at most ``MAX_COMMENT_CHARS``, line breaks allowed
(``\\r\\n`` and ``\\r`` become ``\\n``), no other control character; blank is no comment.
"""

from __future__ import annotations

import uuid
from typing import Any

from frontdesk.core.errors import FrontdeskError, ProtocolError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.forms import decode_object, has_control_character, text_field
from frontdesk.engine.edge.http import Caller
from frontdesk.engine.runtime import metrics
from frontdesk.engine.storage import queries, ratings
from frontdesk.engine.storage.db import Row, UniqueViolation

MIN_SCORE = 1
MAX_SCORE = 5
# a few sentences: room for what went well or wrong, not a second conversation
MAX_COMMENT_CHARS = 2_000


def parse_rating(body: bytes) -> tuple[int, str | None]:
    """``(score, comment)`` of a rating's body, or ``ProtocolError`` naming the field."""
    obj = decode_object(body)
    score = obj.get("score")
    if score is None:
        raise ProtocolError("missing_field", "score is required", field="score")
    # a JSON true is a Python int, and 4.0 is no integer on the wire
    if isinstance(score, bool) or not isinstance(score, int):
        raise ProtocolError("invalid_value", "score must be an integer from 1 to 5", field="score")
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise ProtocolError("invalid_value", "score must be an integer from 1 to 5", field="score")
    raw = obj.get("comment")
    if isinstance(raw, str):
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
        if has_control_character(raw.replace("\n", "")):
            raise ProtocolError("invalid_value", "comment may hold line breaks but no other control character",
                                field="comment")
        obj = {**obj, "comment": raw}
    comment = text_field(obj, "comment", max_chars=MAX_COMMENT_CHARS, required=False)
    return score, comment


def rating_wire(row: Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"score": row["score"], "comment": row["comment"], "created_at": iso(row["created_at"])}


async def customers_conversation(edge: EdgeContext, who: Caller, conversation_id: str) -> Row:
    """The conversation when ``who`` is its customer (chat, link or account token); else 404."""
    row = await queries.conversation(edge.db, conversation_id)
    mine = row is not None and (
        (who.kind == "customer" and who.subject_id == str(row["id"]))
        or (who.kind == "account" and row["customer_id"] is not None and str(row["customer_id"]) == who.subject_id))
    if row is None or not mine:
        raise FrontdeskError("not_found", "no such conversation")
    return row


async def rate(edge: EdgeContext, who: Caller, conversation_id: str, body: bytes) -> dict[str, Any]:
    """Store ``who``'s rating of the conversation; its wire form (201)."""
    row = await customers_conversation(edge, who, conversation_id)
    conversation_id = str(row["id"])
    # the customer's own bucket of the conversation: refused ratings cost a lookup each
    edge.throttles.message_to(conversation_id, "customer", None)
    score, comment = parse_rating(body)
    if await ratings.rating_of(edge.db, conversation_id) is not None:
        raise FrontdeskError("already_rated", "this conversation has been rated already")
    if row["status"] not in ratings.RATEABLE_STATUSES:
        raise _not_ended()
    via = who.token_kind if who.token_kind in ("customer", "link", "account") else "customer"
    try:
        await edge.persister.write([ratings.insert_rating(str(uuid.uuid4()), conversation_id, score, comment, via,
                                                          utc_now())], conversation_id)
    except UniqueViolation:     # rated meanwhile by another request
        raise FrontdeskError("already_rated", "this conversation has been rated already") from None
    stored = await ratings.rating_of(edge.db, conversation_id)
    if stored is None:          # reopened between the check and the commit
        raise _not_ended()
    metrics.RATINGS.labels(str(score)).inc()
    return {"conversation_id": conversation_id, **(rating_wire(stored) or {})}


def _not_ended() -> FrontdeskError:
    return FrontdeskError("not_ended", "a conversation is rated once it has ended or been resolved")
