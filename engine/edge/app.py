"""The Quart app behind the listener: every HTTP route (by resource, ``edge/routes/``), the browser
clients' files, and ``/ws`` for an upgrade that comes after HTTP on a kept-alive connection.

Also the two handlers the listener calls without the app: ``chat_handler`` for ``POST
/api/chats`` on its lean HTTP/1.1 path, ``websocket_handler`` for a fresh ``/ws`` upgrade. Both
answer exactly as the app's routes do.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from quart import Response, websocket
from quart_trio import QuartTrio

from frontdesk.core.errors import DatabaseError, FrontdeskError, RateLimited, http_status
from frontdesk.engine.edge import chat_start
from frontdesk.engine.edge.chat_door import ChatHandler, Headers, peer_address
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import error_response
from frontdesk.engine.edge.listener import WebsocketHandler
from frontdesk.engine.edge.routes import (
    admin_config,
    admin_faq,
    admin_staff,
    chats,
    conversations,
    customers,
    files,
    health,
    offline,
    staff,
)
from frontdesk.engine.edge.session import Session
from frontdesk.engine.edge.static import register_web
from frontdesk.engine.edge.websocket import Handshake, QuartSocket
from frontdesk.engine.protocol.frames import MAX_FRAME_BYTES
from frontdesk.engine.runtime.config import Config

log = logging.getLogger(__name__)

UNAVAILABLE = FrontdeskError("unavailable", "the database is unavailable")
INTERNAL = FrontdeskError("internal", "the engine could not handle this request; it has been logged")


def create_app(edge: EdgeContext) -> QuartTrio:
    app = QuartTrio(__name__)
    # no global limit: JSON bodies are capped by read_body(), uploads stream with their own limit
    app.config["MAX_CONTENT_LENGTH"] = None
    # a path is matched as sent: werkzeug would answer "//" with an HTML redirect to the merged path,
    # where every other answer of the API is JSON (before the routes: each rule takes it when added)
    app.url_map.merge_slashes = False

    @app.errorhandler(FrontdeskError)
    async def _frontdesk_error(exc: FrontdeskError) -> Response:
        return error_response(exc)

    @app.errorhandler(DatabaseError)
    async def _database_error(exc: DatabaseError) -> Response:
        log.error("database error: %s", exc)
        return error_response(UNAVAILABLE)

    @app.errorhandler(404)
    async def _not_found(_exc: Exception) -> Response:
        return error_response(FrontdeskError("not_found", "no such resource"))

    @app.errorhandler(405)
    async def _not_allowed(_exc: Exception) -> Response:
        return error_response(FrontdeskError("method_not_allowed", "method not allowed"))

    @app.errorhandler(413)
    async def _too_large(_exc: Exception) -> Response:
        return error_response(FrontdeskError("too_large", "the body is too large"))

    @app.errorhandler(500)
    async def _bug(_exc: Exception) -> Response:
        # Quart has logged the traceback; the client gets the API's error shape, not an HTML page
        return error_response(INTERNAL)

    for resource in (health, staff, admin_staff, admin_config, admin_faq, chats, offline, conversations, files,
                     customers):
        resource.register(app, edge)
    register_web(app, frame_origins=edge.config.allowed_origins)

    @app.websocket("/ws")
    async def ws() -> Any:
        """An upgrade on a connection that carried HTTP first; fresh ones take ``websocket_handler``."""
        if not origin_allowed(edge.config, websocket.headers.get("Origin")):
            return Response("origin not allowed", status=403)
        address = edge.throttles.address(websocket.remote_addr or "", websocket.headers.get("X-Forwarded-For"))
        await Session(edge, QuartSocket(websocket._get_current_object()), address).run()  # type: ignore[attr-defined]
        return None

    return app


def chat_handler(edge: EdgeContext) -> ChatHandler:
    """``POST /api/chats`` as the listener's chat door serves it: the route's replies, as bytes."""

    async def handle(body: bytes, peer: str, forwarded_for: str | None) -> tuple[int, bytes, Headers]:
        try:
            if edge.config.faults is not None:
                edge.config.faults.check("chat_door", body)
            reply, status = await chat_start.start_chat(edge, body, edge.throttles.address(peer, forwarded_for))
        except DatabaseError as exc:
            log.error("database error: %s", exc)
            return 503, orjson.dumps(UNAVAILABLE.to_http()), []
        except FrontdeskError as exc:
            return http_status(exc), orjson.dumps(exc.to_http()), [
                (b"retry-after", str(exc.retry_after_s).encode())] if isinstance(exc, RateLimited) else []
        except Exception:
            # a bug in one request: answered as the app's routes answer it, the connection and the
            # engine go on
            log.exception("POST /api/chats failed")
            return 500, orjson.dumps(INTERNAL.to_http()), []
        return status, orjson.dumps(reply), []

    return handle


def origin_allowed(cfg: Config, origin: str | None) -> bool:
    return not cfg.allowed_origins or origin is None or origin in cfg.allowed_origins


def websocket_handler(edge: EdgeContext) -> WebsocketHandler:
    """``/ws`` as the listener serves it: the Origin check, then a Session on the accepted socket."""

    async def handle(handshake: Handshake) -> None:
        if not origin_allowed(edge.config, handshake.headers.get("origin")):
            await handshake.refuse(403, "origin not allowed")
            return
        address = edge.throttles.address(peer_address(handshake.stream), handshake.headers.get("x-forwarded-for"))
        await Session(edge, await handshake.accept(MAX_FRAME_BYTES), address).run()

    return handle
