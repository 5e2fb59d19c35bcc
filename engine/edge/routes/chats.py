"""Before and at a chat's start: a queue's state, the pre-chat form, FAQ suggestions."""

from __future__ import annotations

import re

from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import iso
from frontdesk.engine.edge import chat_start, forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import client_address, json_response, read_body
from frontdesk.engine.edge.routes import admin_faq
from frontdesk.engine.storage import queries

FAQ_WORD = re.compile(r"\w+")
FAQ_MAX_WORDS = 12
FAQ_MAX_RESULTS = 5
FAQ_MAX_QUERY_CHARS = 500


def register(app: QuartTrio, edge: EdgeContext) -> None:
    @app.get("/api/queues/<name>")
    async def get_queue(name: str) -> Response:
        view = chat_start.queue_view(edge, name)
        return json_response({"queue": name, "open": view.open, "next_open": iso(view.next_open),
                              "agents_online": view.agents_online, "waiting": view.waiting,
                              "faq_suggestions": view.config.faq_suggestions,
                              "required_fields": list(view.config.required_fields),
                              "mode": view.config.mode, "consent_notice": view.config.consent_notice,
                              "transcript_mails": view.config.transcript_mails,
                              "closed_message": view.config.closed_message,
                              "form": forms.form_rules(view.config.required_fields, view.config.consent_notice)})

    @app.post("/api/chats")
    async def start_chat() -> Response:
        """Served here only for a request that came after another on a kept-alive connection; the
        listener's chat door serves the rest with the same answers."""
        reply, status = await chat_start.start_chat(edge, await read_body(), client_address(edge.throttles))
        return json_response(reply, status)

    @app.get("/api/faq")
    async def faq() -> Response:
        if "q" not in request.args and "Authorization" in request.headers:
            return await admin_faq.list_entries(edge)
        name = request.args.get("queue") or ""
        text = request.args.get("q") or ""
        if not name:
            raise FrontdeskError("missing_field", "queue is required", field="queue")
        if len(text) > FAQ_MAX_QUERY_CHARS or "\x00" in text:
            raise FrontdeskError("invalid_value", "q must be at most 500 characters of text", field="q")
        view = chat_start.queue_view(edge, name)
        words = FAQ_WORD.findall(text.lower())[:FAQ_MAX_WORDS]
        if not view.config.faq_suggestions or not words:
            return json_response({"results": []})
        # every word as a prefix, any of them may match: half-typed questions already find answers
        query = " | ".join(f"{w}:*" for w in words)
        rows = await queries.faq_search(edge.db, name, query, FAQ_MAX_RESULTS)
        return json_response({"results": [{"id": str(r["id"]), "question": r["question"], "answer": r["answer"],
                                           "score": round(float(r["score"]), 6)} for r in rows]})
