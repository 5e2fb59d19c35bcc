"""The business writes first (``POST /api/conversations``, PROTOCOL.md §7).

An agent who is a member of a messaging queue, or a supervisor, starts a conversation with a
customer named by id or by e-mail (a customer is made for an unknown address). The conversation,
its first message and the agent's ownership are stored in one transaction; its notification mail
is due at once (``mail/notifier.py`` sends it with the link). An agent owns it (``open``): its
actor starts, the Router counts it toward the agent's load (even beyond the capacity: starting it
is the agent's own choice) and the agent's console gets ``conversation``. A supervisor's
conversation starts ``pending``: the customer's answer reopens it into the queue.
"""

from __future__ import annotations

import uuid
from typing import Any

from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.conversations.model import ConversationRecord, Sender, StoredMessage
from frontdesk.engine.edge import forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import Caller
from frontdesk.engine.routing.commands import Adopt
from frontdesk.engine.storage import queries


async def start_outreach(edge: EdgeContext, who: Caller, body: bytes) -> dict[str, Any]:
    form = await forms.parse_outreach(body, check_domain=edge.config.check_email_domain)
    view = edge.router.queue_view(form.queue)
    if view is None or view.config.mode != "messaging":
        raise FrontdeskError("invalid_value", "the business writes first in messaging queues only", field="queue")
    staff = await queries.staff_profile(edge.db, who.subject_id)
    if staff is None:
        raise FrontdeskError("unauthenticated", "bad or expired token")
    if who.kind == "agent" and form.queue not in staff["queues"]:
        raise FrontdeskError("forbidden", "only members of the queue start its conversations", field="queue")
    customer = await queries.customer_for_outreach(edge.db, form.customer_id, form.email)
    if customer is None:
        raise FrontdeskError("not_found", "no such customer", field="customer_id")
    sender = Sender("agent", who.subject_id, staff["name"])
    uploads = await queries.unsent_attachments(edge.db, form.attachments, "agent", who.subject_id) \
        if form.attachments else []
    if len(uploads) != len(set(form.attachments)) or len(form.attachments) != len(set(form.attachments)):
        raise FrontdeskError("not_found", "no such attachment (or it was sent already)", field="attachments")
    attachments = [{"id": str(r["id"]), "filename": r["filename"], "content_type": r["content_type"],
                    "size": r["size"]} for r in uploads]
    conversation_id, message_id, at = str(uuid.uuid4()), str(uuid.uuid4()), utc_now()
    owned = who.kind == "agent"
    wire = {"conversation_id": conversation_id, "seq": 1, "id": message_id, "sender": sender.wire(),
            "text": form.text, "private": False, "attachments": attachments, "options": None, "option_id": None,
            "at": iso(at)}
    queue_key = edge.router.next_queue_key()
    statements = [queries.insert_outreach(conversation_id, form.queue, customer, "active" if owned else "pending",
                                          who.subject_id if owned else None, queue_key, at),
                  queries.insert_message({**wire, "client_id": None, "_at": at}, sender.key)]
    if attachments:
        statements.append(queries.bind_attachments([a["id"] for a in attachments], conversation_id, message_id))
    if owned:
        statements += queries.assign_conversation(conversation_id, who.subject_id, at)
    await edge.persister.write(statements, conversation_id)
    if owned:
        record = ConversationRecord(conversation_id, form.queue, "active", customer["name"], customer["email"], [],
                                    at, messages=[StoredMessage.of(wire, sender.key, None)])
        conversation = edge.conversations.open(record)
        await edge.router.send(Adopt(conversation_id, form.queue, who.subject_id,
                                     {"customer": conversation.customer_info, "question": form.text}, queue_key))
        conversation.post_assign(who.subject_id, staff["name"])     # the console's ``conversation`` event
    return {"conversation_id": conversation_id, "customer_id": str(customer["id"]),
            "status": "open" if owned else "pending"}
