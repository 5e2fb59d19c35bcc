"""Attachments: streamed uploads, downloads for those who may see them.

An upload is refused (409 ``conflict``) once the customer's live chat has ended (a resolved
messaging conversation reopens when its customer writes, so it still takes files), and counts
its bytes against its token's and its conversation's limits as they arrive (429 ``rate_limited``
with ``Retry-After``; edge/throttles.py); an upload refused for any reason is not counted."""

from __future__ import annotations

from typing import Any

from quart import Response, request, send_file
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.engine.edge import uploads
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import Caller, authenticate, json_response, paced
from frontdesk.engine.edge.sessions import token_key
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database


async def may_download(db: Database, who: Caller, row: Any) -> bool:
    """Supervisors see every file; before it is sent only its uploader; then the conversation's
    customer unless the message is private, and its agents if it came before they left."""
    if who.kind == "supervisor":
        return True
    if row["message_id"] is None:
        return who.kind == row["uploader_kind"] and who.subject_id == str(row["uploader_id"])
    conversation_id = str(row["conversation_id"])
    if who.kind == "customer":
        return who.subject_id == conversation_id and not row["message_private"]
    part = await queries.participation(db, conversation_id, who.subject_id)
    return part is not None and part.saw(row["message_at"])


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db
    uploads_dir = edge.config.uploads_dir

    @app.post("/api/uploads")
    async def upload() -> Response:
        who = await authenticate(db, "agent", "customer")
        conversation_id = who.subject_id if who.kind == "customer" else None
        if conversation_id is not None:
            row = await queries.conversation(db, conversation_id)
            if row is None or row["status"] == "ended":
                raise FrontdeskError("conflict", "the conversation has ended: nothing more can be sent to it")
        budget = edge.throttles.upload(token_key(who.token_hash), conversation_id, request.content_length)
        up: uploads.Upload | None = None
        try:
            up = await uploads.receive_upload(budget.metered(paced(request.body)), request.headers.get("Content-Type"),
                                              request.content_length, uploads_dir)
            await edge.persister.write([queries.insert_attachment(
                up.attachment_id, who.kind, who.subject_id, up.filename, up.content_type, up.size, up.sha256)])
        except BaseException:
            budget.give_back()
            if up is not None:
                up.path.unlink(missing_ok=True)
            raise
        return json_response({"attachment_id": up.attachment_id, "filename": up.filename,
                              "content_type": up.content_type, "size": up.size}, 201)

    @app.get("/api/attachments/<attachment_id>")
    async def download(attachment_id: str) -> Response:
        who = await authenticate(db, "agent", "supervisor", "customer")
        row = await queries.attachment(db, attachment_id)
        if row is None or not await may_download(db, who, row):
            raise FrontdeskError("not_found", "no such attachment")
        path = uploads_dir / str(row["id"])
        if not path.exists():
            raise FrontdeskError("not_found", "no such attachment")
        response = await send_file(path, mimetype=row["content_type"], as_attachment=True,
                                   attachment_filename=row["filename"], conditional=False)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-store"
        return response
