"""Administration of FAQ entries (PROTOCOL.md §10), supervisors only: list, create, change, delete.

Every change is committed with its audit row (``storage/admin.py``). An entry takes the
text-search configuration of its queue (``queues.language``), so a queue whose configuration this
PostgreSQL lacks takes no entries (422, field ``queue``). Customers' suggestions read the table
at each request (``routes/chats.py``), so a change shows at the next one.

``GET /api/faq`` is shared with the customers' search: a request without ``q`` that carries a
token is the administration list (``chats.py`` hands it to ``list_entries``).
"""

from __future__ import annotations

from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.engine.edge import admin_forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import authenticate, empty_response, json_response, read_body
from frontdesk.engine.storage import admin


async def list_entries(edge: EdgeContext) -> Response:
    """``GET /api/faq[?queue=Q]`` with a supervisor's token: every entry (of ``queue``), by queue and question."""
    await authenticate(edge.db, "supervisor")
    queue = request.args.get("queue") or None
    if queue is not None and (len(queue) > 200 or "\x00" in queue):
        raise FrontdeskError("invalid_value", "queue must be a queue's name", field="queue")
    return json_response({"entries": [admin.faq_wire(r) for r in await admin.faq_list(edge.db, queue)]})


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    async def usable_queue(queue: str) -> None:
        found = await admin.faq_queue_language(db, queue)
        if found is None:
            raise FrontdeskError("invalid_value", f"there is no queue {queue!r}", field="queue")
        language, known = found
        if not known:
            raise FrontdeskError("invalid_value", f"queue {queue} has the language {language!r}, which this "
                                 "PostgreSQL has no text-search configuration for", field="queue")

    async def question_free(queue: str, question: str, other_than: str | None = None) -> None:
        if await admin.faq_question_taken(db, queue, question, other_than):
            raise FrontdeskError("duplicate", f"queue {queue} already has an entry with this question",
                                 field="question")

    @app.post("/api/faq")
    async def create_faq() -> Response:
        who = await authenticate(db, "supervisor")
        form = admin_forms.parse_new_faq(await read_body())
        assert form.queue is not None and form.question is not None and form.answer is not None
        await usable_queue(form.queue)
        await question_free(form.queue, form.question)
        created = await admin.create_faq(db, who.subject_id, form.queue, form.question, form.answer)
        if created is None:
            raise FrontdeskError("invalid_value", f"there is no queue {form.queue!r}", field="queue")
        return json_response(created, 201)

    @app.patch("/api/faq/<faq_id>")
    async def change_faq(faq_id: str) -> Response:
        who = await authenticate(db, "supervisor")
        form = admin_forms.parse_faq_changes(await read_body())
        current = await admin.faq_entry(db, faq_id)
        if current is None:
            raise FrontdeskError("not_found", "no such FAQ entry")
        queue = form.queue or current["queue"]
        if form.queue is not None:
            await usable_queue(queue)
        await question_free(queue, form.question or current["question"], faq_id)
        changed = await admin.change_faq(db, who.subject_id, faq_id, form.queue, form.question, form.answer)
        if changed is None:
            raise FrontdeskError("not_found", "no such FAQ entry")
        return json_response(changed)

    @app.delete("/api/faq/<faq_id>")
    async def delete_faq(faq_id: str) -> Response:
        who = await authenticate(db, "supervisor")
        if not await admin.delete_faq(db, who.subject_id, faq_id):
            raise FrontdeskError("not_found", "no such FAQ entry")
        return empty_response(204)
