"""The dashboard's web server: ``app.py`` served by Streamlit's own ASGI app (``st.App``), with
headers that forbid other sites to frame it. ``frontdesk dashboard`` runs ``streamlit run`` on this
file; Streamlit finds ``app`` below and serves it with uvicorn, on ``--server.address`` and
``--server.port`` as for a plain script.

Streamlit has no setting for response headers. ``st.App`` takes ASGI middleware (Streamlit's API
reference, "App server"), which is the supported way to add them; without them any page on the
web could show the signed-in dashboard in a hidden frame and trick a supervisor into clicking.
``'self'`` rather than ``'none'``: Streamlit puts its own components in frames of the same origin.

AppTest runs ``app.py`` directly, without this server.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(RefuseFraming)])
