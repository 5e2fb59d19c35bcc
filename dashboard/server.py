"""The dashboard's web server: ``app.py`` served by Streamlit's own ASGI app (``st.App``), with
headers that forbid other sites to frame it. ``frontdesk dashboard`` runs ``streamlit run`` on this
file; Streamlit finds ``app`` below and serves it with uvicorn, on ``--server.address`` and
``--server.port`` as for a plain script.

Streamlit has no setting for response headers. ``st.App`` takes ASGI middleware (Streamlit's API
reference, "App server"), which is the supported way to add them; without them any page on the
web could show the signed-in dashboard in a hidden frame and trick a supervisor into clicking.
``'self'`` rather than ``'none'``: Streamlit puts its own components in frames of the same origin.

The session cookie: a Streamlit script cannot set a cookie, so after sign-in the page asks
``SESSION_PATH`` here (``SessionCookie``) to set the supervisor's token as an HttpOnly,
SameSite=Strict cookie (Secure over https), and after sign-out to drop it. The token is checked in
the database on every run (``common.resume_session``); this server only carries it.

AppTest runs ``app.py`` directly, without this server.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.dashboard import common

FRAME_HEADERS = [(b"content-security-policy", b"frame-ancestors 'self'"), (b"x-frame-options", b"SAMEORIGIN")]
_FRAME_HEADER_NAMES = {name for name, _ in FRAME_HEADERS}


class RefuseFraming:
    """ASGI middleware: every HTTP answer carries ``FRAME_HEADERS`` (in place of any it had)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message.get("headers", [])
                        if bytes(name).lower() not in _FRAME_HEADER_NAMES]
                message = {**message, "headers": [*kept, *FRAME_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# what auth.new_token makes (URL-safe base64), with room to spare
_TOKEN = re.compile(rb"[A-Za-z0-9_-]{20,200}")
_MAX_BODY = 400


class SessionCookie:
    """ASGI middleware: ``POST SESSION_PATH`` with a token as the body sets the session cookie,
    ``DELETE SESSION_PATH`` clears it; both only with the ``SESSION_HEADER`` header, which a page of
    another site cannot send here (it would need a CORS permission this server never gives)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != common.SESSION_PATH:
            await self.app(scope, receive, send)
            return
        headers = {bytes(k).lower(): bytes(v) for k, v in scope.get("headers", [])}
        method = scope["method"]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > _MAX_BODY or not message.get("more_body"):
                break
        if headers.get(common.SESSION_HEADER.lower().encode()) != b"1" or method not in ("POST", "DELETE"):
            await _answer(send, 403, [])
            return
        secure = scope.get("scheme") == "https" or headers.get(b"x-forwarded-proto") == b"https"
        if method == "POST":
            if not _TOKEN.fullmatch(body):
                await _answer(send, 422, [])
                return
            cookie = _cookie(body.decode(), int(common.SESSION_TTL.total_seconds()), secure)
        else:
            cookie = _cookie("", 0, secure)
        await _answer(send, 204, [(b"set-cookie", cookie.encode())])


def _cookie(value: str, max_age: int, secure: bool) -> str:
    return (f"{common.COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"
            + ("; Secure" if secure else ""))


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"cache-control", b"no-store"), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(RefuseFraming), Middleware(SessionCookie)])
