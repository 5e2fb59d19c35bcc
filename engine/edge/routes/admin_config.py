"""Administration of queues and canned messages, and the audit log (PROTOCOL.md §10, §14),
supervisors only.

Every change is committed with its audit row (``storage/admin.py``); the ``frontdesk_queues`` and
``frontdesk_staff`` notifications carry queue settings and memberships to the Router of every
engine (``supervisor/housekeeping.py``). Canned messages are read from the database by each agent
request, so a change shows at the next one.
"""

from __future__ import annotations

from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.engine.edge import admin_forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import authenticate, empty_response, json_response, read_body
from frontdesk.engine.mail.compose import compose_notification, template_sender_name
from frontdesk.engine.storage import admin
from frontdesk.engine.storage.db import UniqueViolation

PREVIEW_MESSAGES = [{"sender_name": "Agent One", "text": "Your parcel left our warehouse today.", "private": False}]


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    async def known_agents(members: list[str] | None) -> None:
        if not members:
            return
        found = await admin.agent_ids(db, members)
        for i, member in enumerate(members):
            if member not in found:
                raise FrontdeskError("invalid_value", f"there is no agent {member}", field=f"members[{i}]")

    # ---- queues ----

    @app.get("/api/queues")
    async def list_queues() -> Response:
        await authenticate(db, "supervisor")
        return json_response({"queues": [admin.queue_wire(r) for r in await admin.queue_list(db)]})

    @app.post("/api/queues")
    async def create_queue() -> Response:
        who = await authenticate(db, "supervisor")
        form = admin_forms.parse_new_queue(await read_body())
        await known_agents(form.members)
        assert form.name is not None
        try:
            queue = await admin.create_queue(db, who.subject_id, form.name, form.settings, form.members or [])
        except UniqueViolation:
            raise FrontdeskError("duplicate", "a queue with this name exists", field="name") from None
        return json_response(queue, 201)

    @app.patch("/api/queues/<name>")
    async def change_queue(name: str) -> Response:
        who = await authenticate(db, "supervisor")
        form = admin_forms.parse_queue_changes(await read_body())
        await known_agents(form.members)
        changed = await admin.change_queue(db, who.subject_id, name, form.settings, form.members)
        if changed is None:
            raise FrontdeskError("not_found", "no such queue")
        return json_response(changed[1])

    @app.post("/api/queues/<name>/mail-preview")
    async def preview_mail(name: str) -> Response:
        """The queue's notification mail as a customer in ``language`` would get it, with sample
        messages, from the templates given (or the stored ones): what the dashboard previews."""
        await authenticate(db, "supervisor")
        language, templates = admin_forms.parse_mail_preview(await read_body())
        rows = [r for r in await admin.queue_list(db) if r["name"] == name]
        if not rows:
            raise FrontdeskError("not_found", "no such queue")
        queue = admin.queue_wire(rows[0])
        if templates is None:
            templates = queue["mail_templates"]
        subject, text, body_html = compose_notification(
            "Cora Customer", queue["title"] or name, language, PREVIEW_MESSAGES,
            f"{edge.config.link_base}/chat/c/…#t=…", templates)
        return json_response({"subject": subject, "text": text, "html": body_html,
                              "sender_name": template_sender_name(templates, language) or queue["sender_name"]})

    # ---- canned messages ----

    async def known_queue(queue: str | None) -> None:
        if queue is not None and not await admin.existing_queues(db, [queue]):
            raise FrontdeskError("invalid_value", f"there is no queue {queue!r}", field="queue")

    async def title_free(queue: str | None, title: str, other_than: str | None = None) -> None:
        if await admin.canned_title_taken(db, queue, title, other_than):
            raise FrontdeskError("duplicate", "a canned message with this title exists for this scope", field="title")

    @app.post("/api/canned")
    async def create_canned() -> Response:
        who = await authenticate(db, "supervisor")
        title, text, queue = admin_forms.parse_new_canned(await read_body())
        await known_queue(queue)
        await title_free(queue, title)
        return json_response(await admin.create_canned(db, who.subject_id, title, text, queue), 201)

    @app.patch("/api/canned/<canned_id>")
    async def change_canned(canned_id: str) -> Response:
        who = await authenticate(db, "supervisor")
        changes = admin_forms.parse_canned_changes(await read_body())
        current = await admin.canned_message(db, canned_id)
        if current is None:
            raise FrontdeskError("not_found", "no such canned message")
        queue = changes["queue"] if "queue" in changes else current["queue"]
        await known_queue(queue)
        await title_free(queue, changes.get("title") or current["title"], canned_id)
        changed = await admin.change_canned(db, who.subject_id, canned_id, changes)
        if changed is None:
            raise FrontdeskError("not_found", "no such canned message")
        return json_response(changed)

    @app.delete("/api/canned/<canned_id>")
    async def delete_canned(canned_id: str) -> Response:
        who = await authenticate(db, "supervisor")
        if not await admin.delete_canned(db, who.subject_id, canned_id):
            raise FrontdeskError("not_found", "no such canned message")
        return empty_response(204)

    # ---- the audit log ----

    @app.get("/api/audit")
    async def audit() -> Response:
        await authenticate(db, "supervisor")
        since, limit = admin_forms.parse_audit_query(request.args.get("since"), request.args.get("limit"))
        return json_response({"entries": [admin.audit_wire(r) for r in await admin.audit_entries(db, since, limit)]})
