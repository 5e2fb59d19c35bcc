"""Offline requests: left by customers when nobody can chat, handled by agents."""

from __future__ import annotations

import uuid
from typing import Any

from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.edge import chat_start, forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import authenticate, client_address, json_response, read_body
from frontdesk.engine.mail.outbox import offline_confirmation
from frontdesk.engine.storage import queries


def offline_wire(row: Any) -> dict[str, Any]:
    return {"request_id": str(row["id"]), "request_number": queries.format_request_number(row["request_number"]),
            "queue": row["queue"], "name": row["name"], "email": row["email"], "question": row["question"],
            "conversation_id": str(row["conversation_id"]) if row["conversation_id"] else None,
            "status": row["status"], "handled_by": str(row["handled_by"]) if row["handled_by"] else None,
            "handled_at": iso(row["handled_at"]), "created_at": iso(row["created_at"])}


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    @app.post("/api/offline-requests")
    async def offline_request() -> Response:
        form = await forms.parse_offline_request(await read_body(), check_domain=edge.config.check_email_domain)
        config = chat_start.queue_view(edge, form.queue).config
        notice = config.consent_notice
        forms.require_consent(form.consent, notice)
        edge.throttles.offline_request(client_address(edge.throttles), form.email)
        request_id = str(uuid.uuid4())
        number = await queries.next_request_number(db)
        request_number = queries.format_request_number(number)
        # the form's language, else the customer record's with this address (English without either)
        language = form.language or await queries.customer_language(db, form.email) or "en"
        queue = await queries.queue(db, form.queue)
        templates = queue["mail_templates"] if queue is not None else None
        await edge.persister.write([
            queries.insert_offline_request(request_id, number, form.queue, form.name, form.email, form.question,
                                           consent_at=utc_now() if notice else None),
            offline_confirmation(form.email, request_number, form.name, form.question, config.sender_name,
                                 language, templates)])
        edge.outbox.nudge()
        return json_response({"request_id": request_id, "request_number": request_number}, 201)

    @app.get("/api/offline-requests")
    async def list_offline_requests() -> Response:
        who = await authenticate(db, "agent")
        status = request.args.get("status")
        if status not in (None, "open", "handled"):
            raise FrontdeskError("invalid_value", "status must be open or handled", field="status")
        rows = await queries.offline_requests_for_agent(db, who.subject_id, status)
        return json_response({"requests": [offline_wire(r) for r in rows]})

    @app.post("/api/offline-requests/<request_id>/handle")
    async def handle_offline_request(request_id: str) -> Response:
        who = await authenticate(db, "agent")
        row = await queries.handle_offline_request(db, request_id, who.subject_id)
        if row is None:
            raise FrontdeskError("not_found", "no such request")
        return json_response(offline_wire(row))
