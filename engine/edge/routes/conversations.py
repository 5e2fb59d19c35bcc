"""Conversations over HTTP: the business starting one (``outreach.py``), the customer beside a
conversation (their record, the pre-chat fields and their other conversations) for its agents, a
conversation's transcript as JSON for its participants, and by mail for its customer, and the
customer's rating of it (``ratings.py``)."""

from __future__ import annotations

from quart import Response
from quart_trio import QuartTrio

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.conversations.model import message_wire
from frontdesk.engine.edge import account_view, ratings
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import authenticate, json_response, read_body
from frontdesk.engine.edge.outreach import start_outreach
from frontdesk.engine.mail.notifier import LINK_TOKEN_TTL
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.ratings import RATEABLE_STATUSES, rating_of


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    @app.post("/api/conversations")
    async def start() -> Response:
        who = await authenticate(db, "agent", "supervisor")
        return json_response(await start_outreach(edge, who, await read_body()), 201)

    @app.post("/api/conversations/<conversation_id>/link")
    async def link(conversation_id: str) -> Response:
        """A signed-in customer opens one of their conversations on the conversation page: a link
        token for it (as a notification mail carries), so the page needs one kind of token only."""
        who = await authenticate(db, "account")
        row = await queries.conversation(db, conversation_id)
        if row is None or str(row["customer_id"]) != who.subject_id:
            raise FrontdeskError("not_found", "no such conversation")
        token, token_hash = auth.new_token()
        expires_at = utc_now() + LINK_TOKEN_TTL
        await edge.persister.write([queries.insert_link_token(token_hash, conversation_id, who.subject_id,
                                                              expires_at)], conversation_id)
        return json_response({"link_token": token, "path": f"/chat/c/{conversation_id}#t={token}",
                              "expires_at": iso(expires_at)}, 201)

    @app.get("/api/conversations/<conversation_id>/customer")
    async def customer_beside(conversation_id: str) -> Response:
        """What an agent sees beside a chat: who the customer is, what they filled in, and their
        earlier conversations (public last messages only)."""
        who = await authenticate(db, "agent", "supervisor")
        row = await queries.conversation(db, conversation_id)
        part = (await queries.participation(db, conversation_id, who.subject_id)
                if row is not None and who.kind == "agent" else None)
        if row is None or (who.kind == "agent" and (part is None or part.left_at is not None)):
            raise FrontdeskError("not_found", "no such conversation")
        customer = await queries.account_customer(db, str(row["customer_id"])) if row["customer_id"] else None
        others = await queries.account_conversations(db, str(row["customer_id"]), 50) if customer else []
        return json_response({
            "customer": account_view.customer_wire(customer) if customer else None,
            "fields": row["fields"] or {},
            "conversations": [account_view.conversation_wire(r) for r in others if str(r["id"]) != conversation_id]})

    @app.get("/api/conversations/<conversation_id>/transcript")
    async def transcript(conversation_id: str) -> Response:
        who = await authenticate(db, "agent", "supervisor", "customer")
        row = await queries.conversation(db, conversation_id)
        part = (await queries.participation(db, conversation_id, who.subject_id)
                if row is not None and who.kind == "agent" else None)
        allowed = row is not None and (
            who.kind == "supervisor"
            or (who.kind == "customer" and who.subject_id == str(row["id"]))
            or part is not None)
        if not allowed or row is None:
            raise FrontdeskError("not_found", "no such conversation")
        rows = await queries.messages_of(db, [conversation_id])
        if part is not None:        # an agent who left reads what came before, not after
            rows = [r for r in rows if part.saw(r["created_at"])]
        messages = [message_wire(r) for r in rows]
        if who.kind == "customer":
            messages = [m for m in messages if not m["private"]]
        return json_response({"conversation_id": str(row["id"]), "queue": row["queue"], "status": row["status"],
                              "messages": messages,
                              "rating": ratings.rating_wire(await rating_of(db, conversation_id))})

    @app.post("/api/conversations/<conversation_id>/rating")
    async def rate(conversation_id: str) -> Response:
        who = await authenticate(db, "customer", "account")
        return json_response(await ratings.rate(edge, who, conversation_id, await read_body()), 201)

    @app.get("/api/conversations/<conversation_id>/rating")
    async def rating(conversation_id: str) -> Response:
        """Whether the customer may still rate: the page asks once the conversation ended or was
        resolved, also after a reload, so it never asks twice."""
        who = await authenticate(db, "customer", "account")
        row = await ratings.customers_conversation(edge, who, conversation_id)
        rated = ratings.rating_wire(await rating_of(db, str(row["id"])))
        return json_response({"conversation_id": str(row["id"]), "rating": rated,
                              "can_rate": rated is None and row["status"] in RATEABLE_STATUSES})

    @app.post("/api/conversations/<conversation_id>/transcript-email")
    async def transcript_email(conversation_id: str) -> Response:
        who = await authenticate(db, "customer")
        if who.subject_id != conversation_id:
            raise FrontdeskError("not_found", "no such conversation")
        result = await edge.outbox.transcript(conversation_id)
        if result is None:
            raise FrontdeskError("not_found", "no such conversation")
        if result == "off":
            raise FrontdeskError("conflict", "this queue sends no transcript mails")
        return json_response({"status": "queued"}, 202)
