"""The browser clients, served as static files by the engine itself (no build step, no CDN).

Routes: ``/chat`` (customer widget; ``/chat/widget.js`` is the embeddable script),
``/chat/c/{conversation_id}`` (the same page, opened by a notification mail's link: the link token
rides in the fragment, ``#t=...``, which no browser sends to a server), ``/agent`` (agent console)
and ``/web/shared/...`` (modules both use). The files live in ``engine/web/``
and speak only the public protocol (PROTOCOL.md): HTTP API plus ``/ws``.

Every answer carries a strict Content-Security-Policy: scripts, styles and everything else only
from the engine's own origin (no inline script or style anywhere, so ``'unsafe-inline'`` is never
needed), websockets to ``ws:``/``wss:``, images also from ``data:``/``blob:`` (attachment
previews). ``frame-ancestors`` differs per app: the customer chat may be framed by the pages that
embed ``widget.js`` — any page while ``FRONTDESK_ALLOWED_ORIGINS`` is empty (as the websocket
accepts any Origin then), else only ``'self'`` and those origins; the agent console only by the
engine's own pages (plus ``X-Frame-Options: SAMEORIGIN``). ``X-Content-Type-Options: nosniff``
and ``Referrer-Policy: same-origin`` everywhere; the shared modules also carry
``Access-Control-Allow-Origin: *`` (they hold no secrets), so that ``widget.js`` on another site
can import the translation table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import trio
from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
                 ".ico": "image/x-icon"}

BASE_CSP = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")


def content_security_policy(frame_ancestors: str) -> str:
    return f"{BASE_CSP}; frame-ancestors {frame_ancestors}"


def _resolve(folder: str, path: str) -> Path:
    """The file ``folder/path`` under WEB_ROOT; 404 for anything else (traversal, dotfiles, odd types)."""
    parts = path.split("/")
    if any(not p or p.startswith(".") or "\\" in p for p in parts):
        raise FrontdeskError("not_found", "no such resource")
    base = (WEB_ROOT / folder).resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or target.suffix not in CONTENT_TYPES or not target.is_file():
        raise FrontdeskError("not_found", "no such resource")
    return target


def register_web(app: QuartTrio, frame_origins: Iterable[str] = ()) -> None:
    """Add the routes of the two browser apps to ``app``."""
    origins = tuple(frame_origins)
    chat_csp = content_security_policy(" ".join(("'self'", *origins)) if origins else "*")
    own_csp = content_security_policy("'self'")

    async def serve(folder: str, path: str, csp: str, *, same_origin_frames: bool, cors: bool = False) -> Response:
        target = _resolve(folder, path)
        data = await trio.Path(target).read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if request.headers.get("If-None-Match") == etag:
            response = Response(b"", status=304)
        else:
            response = Response(data, content_type=CONTENT_TYPES[target.suffix])
        response.headers["ETag"] = etag
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if same_origin_frames:
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        if cors:
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.get("/chat")
    @app.get("/chat/")
    async def chat_page() -> Response:
        return await serve("chat", "index.html", chat_csp, same_origin_frames=False)

    @app.get("/chat/c/<conversation_id>")
    async def chat_link_page(conversation_id: str) -> Response:
        # the page reads the id from its address and judges the link by the token: any id gets the page
        return await serve("chat", "index.html", chat_csp, same_origin_frames=False)

    @app.get("/chat/<path:path>")
    async def chat_file(path: str) -> Response:
        return await serve("chat", path, chat_csp, same_origin_frames=False)

    @app.get("/account")
    @app.get("/account/")
    async def account_page() -> Response:
        return await serve("account", "index.html", own_csp, same_origin_frames=True)

    @app.get("/account/<path:path>")
    async def account_file(path: str) -> Response:
        return await serve("account", path, own_csp, same_origin_frames=True)

    @app.get("/agent")
    @app.get("/agent/")
    async def agent_page() -> Response:
        return await serve("agent", "index.html", own_csp, same_origin_frames=True)

    @app.get("/agent/<path:path>")
    async def agent_file(path: str) -> Response:
        return await serve("agent", path, own_csp, same_origin_frames=True)

    @app.get("/web/shared/<path:path>")
    async def shared_file(path: str) -> Response:
        # public modules without secrets; CORS lets widget.js on other sites import the translations
        return await serve("shared", path, own_csp, same_origin_frames=True, cors=True)
