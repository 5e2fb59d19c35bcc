"""The HTTP API and the ``/ws`` endpoint (QuartTrio). Thin: validate, call an actor or a query, reply.

Every error is ``{"error": {"code", "message", "field"?}}`` with the status of PROTOCOL.md §3;
ids that do not exist and ids the caller may not see are both 404.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from datetime import timedelta
from typing import Any

import orjson
from quart import Response, has_request_context, request, send_file, websocket
from quart_trio import QuartTrio

from frontdesk.core import auth
from frontdesk.core.errors import DatabaseError, FrontdeskError, http_status
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.conversations.model import message_wire
from frontdesk.engine.edge import chat_start, forms, uploads
from frontdesk.engine.edge.chat_door import ChatHandler
from frontdesk.engine.edge.listener import WebsocketHandler
from frontdesk.engine.edge.session import Session
from frontdesk.engine.edge.static import register_web
from frontdesk.engine.edge.websocket import Handshake, QuartSocket
from frontdesk.engine.mail import compose as mails
from frontdesk.engine.protocol.frames import MAX_FRAME_BYTES
from frontdesk.engine.routing.commands import QueueView
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import MAX_JSON_BODY_BYTES, STAFF_TOKEN_TTL_S, Config
from frontdesk.engine.runtime.directory import Directory
from frontdesk.engine.storage import queries

log = logging.getLogger(__name__)




def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json")


def error_response(exc: FrontdeskError) -> Response:
    response = json_response(exc.to_http(), http_status(exc))
    if has_request_context() and (request.content_length or request.headers.get("Transfer-Encoding")):
        # the body may be left unread (refused early, e.g. 413 or 401 on an upload): a kept-alive
        # connection would then wait for it and hang the client's next request, so close it
        response.headers["Connection"] = "close"
    return response


class Caller:
    """Who sent a request, from its bearer token."""

    def __init__(self, kind: str, subject_id: str):
        self.kind = kind
        self.subject_id = subject_id


FAQ_WORD = re.compile(r"\w+")
FAQ_MAX_WORDS = 12
FAQ_MAX_RESULTS = 5


def offline_wire(row: Any) -> dict[str, Any]:
    return {"request_id": str(row["id"]), "request_number": queries.format_request_number(row["request_number"]),
            "queue": row["queue"], "name": row["name"], "email": row["email"], "question": row["question"],
            "conversation_id": str(row["conversation_id"]) if row["conversation_id"] else None,
            "status": row["status"], "handled_by": str(row["handled_by"]) if row["handled_by"] else None,
            "handled_at": iso(row["handled_at"]), "created_at": iso(row["created_at"])}


def create_app(directory: Directory) -> QuartTrio:
    app = QuartTrio(__name__)
    # no global limit: JSON bodies are capped in body(), uploads stream with their own limit
    app.config["MAX_CONTENT_LENGTH"] = None
    db = directory.db
    cfg = directory.config

    @app.errorhandler(FrontdeskError)
    async def _frontdesk_error(exc: FrontdeskError) -> Response:
        return error_response(exc)

    @app.errorhandler(DatabaseError)
    async def _database_error(exc: DatabaseError) -> Response:
        log.error("database error: %s", exc)
        return error_response(FrontdeskError("unavailable", "the database is unavailable"))

    @app.errorhandler(404)
    async def _not_found(_exc: Exception) -> Response:
        return error_response(FrontdeskError("not_found", "no such resource"))

    @app.errorhandler(405)
    async def _not_allowed(_exc: Exception) -> Response:
        return error_response(FrontdeskError("method_not_allowed", "method not allowed"))

    @app.errorhandler(413)
    async def _too_large(_exc: Exception) -> Response:
        return error_response(FrontdeskError("too_large", "the body is too large"))

    async def body() -> bytes:
        """The request body, refused with 413 as soon as it passes MAX_JSON_BODY_BYTES."""
        if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
            raise FrontdeskError("too_large", "the body is too large")
        data = bytearray()
        async for chunk in request.body:
            data += chunk
            if len(data) > MAX_JSON_BODY_BYTES:
                raise FrontdeskError("too_large", "the body is too large")
        return bytes(data)

    async def caller(*kinds: str) -> Caller:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or len(header) > 200:
            raise FrontdeskError("unauthenticated", "a bearer token is required")
        row = await queries.token_subject(db, auth.token_hash(header[7:].strip()))
        if row is None:
            raise FrontdeskError("unauthenticated", "bad or expired token")
        if row["kind"] not in kinds:
            raise FrontdeskError("forbidden", "this token may not do that")
        return Caller(row["kind"], str(row["subject_id"]))

    # ---- health and metrics ----------------------------------------------------------------

    @app.get("/healthz")
    async def healthz() -> Response:
        ok = await db.ping()
        return json_response({"status": "ok" if ok else "degraded", "database": "ok" if ok else "down"},
                             200 if ok else 503)

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        try:
            loopback = ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise FrontdeskError("forbidden", "metrics are served on loopback only")
        return Response(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")

    # ---- sign-in ---------------------------------------------------------------------------

    async def login(role: str) -> Response:
        form = forms.parse_login(await body())
        row = await queries.staff_by_email(db, form.email, role)
        if not await auth.verify_password(row["password_hash"] if row else None, form.password) or row is None:
            raise FrontdeskError("bad_credentials", "wrong e-mail or password")
        token, token_hash = auth.new_token()
        await directory.persister.write([queries.insert_token(
            token_hash, role, str(row["id"]), utc_now() + timedelta(seconds=STAFF_TOKEN_TTL_S))])
        profile = await queries.staff_profile(db, str(row["id"]))
        assert profile is not None
        person = {"id": str(row["id"]), "name": row["name"], "email": row["email"],
                  "capacity": row["capacity"], "queues": list(profile["queues"])}
        return json_response({"token": token, role: person})

    @app.post("/api/agents/login")
    async def agent_login() -> Response:
        return await login("agent")

    @app.post("/api/supervisors/login")
    async def supervisor_login() -> Response:
        return await login("supervisor")

    # ---- queues and chats ------------------------------------------------------------------

    def queue_view(name: str) -> QueueView:
        return chat_start.queue_view(directory, name)

    @app.get("/api/queues/<name>")
    async def get_queue(name: str) -> Response:
        view = queue_view(name)
        return json_response({"queue": name, "open": view.open, "next_open": iso(view.next_open),
                              "agents_online": view.agents_online, "waiting": view.waiting,
                              "faq_suggestions": view.config.faq_suggestions,
                              "required_fields": list(view.config.required_fields)})

    @app.post("/api/chats")
    async def start_chat() -> Response:
        reply, status = await chat_start.start_chat(directory, await body())
        return json_response(reply, status)

    @app.post("/api/offline-requests")
    async def offline_request() -> Response:
        form = await forms.parse_offline_request(await body(), check_domain=cfg.check_email_domain)
        queue_view(form.queue)
        request_id = str(uuid.uuid4())
        number = queries.format_request_number(await queries.next_request_number(db))
        await directory.persister.write([
            queries.insert_offline_request(request_id, int(number[4:]), form.queue, form.name, form.email,
                                           form.question),
            mails.offline_confirmation(form.email, number, form.name, form.question)])
        if directory.mailer is not None:
            directory.mailer.nudge()
        return json_response({"request_id": request_id, "request_number": number}, 201)

    @app.get("/api/offline-requests")
    async def list_offline_requests() -> Response:
        who = await caller("agent")
        status = request.args.get("status")
        if status not in (None, "open", "handled"):
            raise FrontdeskError("invalid_value", "status must be open or handled", field="status")
        rows = await queries.offline_requests_for_agent(db, who.subject_id, status)
        return json_response({"requests": [offline_wire(r) for r in rows]})

    @app.post("/api/offline-requests/<request_id>/handle")
    async def handle_offline_request(request_id: str) -> Response:
        who = await caller("agent")
        row = await queries.handle_offline_request(db, request_id, who.subject_id)
        if row is None:
            raise FrontdeskError("not_found", "no such request")
        return json_response(offline_wire(row))

    # ---- FAQ -------------------------------------------------------------------------------

    @app.get("/api/faq")
    async def faq() -> Response:
        name = request.args.get("queue") or ""
        text = request.args.get("q") or ""
        if not name:
            raise FrontdeskError("missing_field", "queue is required", field="queue")
        if len(text) > 500 or "\x00" in text:
            raise FrontdeskError("invalid_value", "q must be at most 500 characters of text", field="q")
        view = queue_view(name)
        words = FAQ_WORD.findall(text.lower())[:FAQ_MAX_WORDS]
        if not view.config.faq_suggestions or not words:
            return json_response({"results": []})
        # every word as a prefix, any of them may match: half-typed questions already find answers
        query = " | ".join(f"{w}:*" for w in words)
        rows = await queries.faq_search(db, name, query, FAQ_MAX_RESULTS)
        return json_response({"results": [{"id": str(r["id"]), "question": r["question"], "answer": r["answer"],
                                           "score": round(float(r["score"]), 6)} for r in rows]})

    # ---- transcripts -----------------------------------------------------------------------

    @app.get("/api/conversations/<conversation_id>/transcript")
    async def transcript(conversation_id: str) -> Response:
        who = await caller("agent", "supervisor", "customer")
        row = await queries.conversation(db, conversation_id)
        allowed = row is not None and (
            who.kind == "supervisor"
            or (who.kind == "customer" and who.subject_id == str(row["id"]))
            or (who.kind == "agent" and await queries.was_participant(db, conversation_id, who.subject_id)))
        if not allowed or row is None:
            raise FrontdeskError("not_found", "no such conversation")
        messages = [message_wire(r) for r in await queries.messages_of(db, [conversation_id])]
        if who.kind == "customer":
            messages = [m for m in messages if not m["private"]]
        return json_response({"conversation_id": str(row["id"]), "queue": row["queue"], "status": row["status"],
                              "messages": messages})

    @app.post("/api/conversations/<conversation_id>/transcript-email")
    async def transcript_email(conversation_id: str) -> Response:
        who = await caller("customer")
        if who.subject_id != conversation_id or not await mails.queue_transcript(directory, conversation_id):
            raise FrontdeskError("not_found", "no such conversation")
        return json_response({"status": "queued"}, 202)

    # ---- attachments and canned messages ---------------------------------------------------

    @app.post("/api/uploads")
    async def upload() -> Response:
        who = await caller("agent", "customer")
        up = await uploads.receive_upload(request.body, request.headers.get("Content-Type"), request.content_length,
                                          cfg.uploads_dir)
        try:
            await directory.persister.write([queries.insert_attachment(
                up.attachment_id, who.kind, who.subject_id, up.filename, up.content_type, up.size, up.sha256)])
        except BaseException:
            up.path.unlink(missing_ok=True)
            raise
        return json_response({"attachment_id": up.attachment_id, "filename": up.filename,
                              "content_type": up.content_type, "size": up.size}, 201)

    @app.get("/api/attachments/<attachment_id>")
    async def download(attachment_id: str) -> Response:
        who = await caller("agent", "supervisor", "customer")
        row = await queries.attachment(db, attachment_id)
        if row is None or not await may_download(who, row):
            raise FrontdeskError("not_found", "no such attachment")
        path = cfg.uploads_dir / str(row["id"])
        if not path.exists():
            raise FrontdeskError("not_found", "no such attachment")
        response = await send_file(path, mimetype=row["content_type"], as_attachment=True,
                                   attachment_filename=row["filename"], conditional=False)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    async def may_download(who: Caller, row: Any) -> bool:
        if who.kind == "supervisor":
            return True
        if row["message_id"] is None:  # not sent yet: only its uploader
            return who.kind == row["uploader_kind"] and who.subject_id == str(row["uploader_id"])
        conversation_id = str(row["conversation_id"])
        if who.kind == "customer":
            return who.subject_id == conversation_id and not row["message_private"]
        return await queries.was_participant(db, conversation_id, who.subject_id)

    @app.get("/api/agents")
    async def list_agents() -> Response:
        await caller("agent", "supervisor")
        return json_response({"agents": [
            {"id": str(r["id"]), "name": r["name"], "presence": r["presence"], "queues": list(r["queues"]),
             "open_conversations": r["open_conversations"], "capacity": r["capacity"]}
            for r in await queries.colleagues(db)]})

    @app.get("/api/canned")
    async def canned() -> Response:
        who = await caller("agent")
        rows = await queries.canned_for_agent(db, who.subject_id)
        return json_response({"canned": [{"id": str(r["id"]), "title": r["title"], "text": r["text"],
                                          "queue": r["queue"]} for r in rows]})

    register_web(app, frame_origins=cfg.allowed_origins)   # the browser clients (engine/web.py)

    # ---- websocket -------------------------------------------------------------------------

    @app.websocket("/ws")
    async def ws() -> Any:
        """An upgrade on a connection that carried HTTP first; fresh ones take ``websocket_handler``."""
        if not origin_allowed(cfg, websocket.headers.get("Origin")):
            return Response("origin not allowed", status=403)
        await Session(directory, QuartSocket(websocket._get_current_object())).run()  # type: ignore[attr-defined]
        return None

    return app


def chat_handler(directory: Directory) -> ChatHandler:
    """``POST /api/chats`` as the front door's chat path serves it: the route's replies, as bytes."""

    async def handle(body: bytes) -> tuple[int, bytes]:
        try:
            reply, status = await chat_start.start_chat(directory, body)
        except DatabaseError as exc:
            log.error("database error: %s", exc)
            return 503, orjson.dumps(FrontdeskError("unavailable", "the database is unavailable").to_http())
        except FrontdeskError as exc:
            return http_status(exc), orjson.dumps(exc.to_http())
        return status, orjson.dumps(reply)

    return handle


def origin_allowed(cfg: Config, origin: str | None) -> bool:
    return not cfg.allowed_origins or origin is None or origin in cfg.allowed_origins


def websocket_handler(directory: Directory) -> WebsocketHandler:
    """``/ws`` as the front door serves it: the Origin check, then a Session on the accepted socket."""

    async def handle(handshake: Handshake) -> None:
        if not origin_allowed(directory.config, handshake.headers.get("origin")):
            await handshake.refuse(403, "origin not allowed")
            return
        await Session(directory, await handshake.accept(MAX_FRAME_BYTES)).run()

    return handle
