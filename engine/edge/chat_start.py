"""Starting a chat from the pre-chat form (``POST /api/chats``), whichever server path carried it.

Quart's route (``routes/chats.py``) and the listener's lean HTTP path (``chat_door.py``) both call
``start_chat`` with the raw body and send what it returns, so the two cannot drift apart.
``start_chat`` validates the form (with the queue's required fields and consent notice), reads the
Router's view of the queue (open? anyone online?), stores the conversation (with the time of the
consent), its first message and the customer's token in one statement, spawns the Conversation
actor and enqueues it. Raises ``FrontdeskError`` (the caller maps its code to a
status) and ``DatabaseError`` (503).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.conversations.model import ConversationRecord, StoredMessage
from frontdesk.engine.edge import forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.routing.commands import Enqueue, QueueView
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import CUSTOMER_TOKEN_TTL_S
from frontdesk.engine.storage import queries


def queue_view(edge: EdgeContext, name: str) -> QueueView:
    """The queue as the Router sees it now (settings, open, agents online); 404 when unknown."""
    view = edge.router.queue_view(name)
    if view is None:
        raise FrontdeskError("not_found", f"no queue {name!r}", field="queue")
    return view


async def start_chat(edge: EdgeContext, body: bytes, client: str) -> tuple[dict[str, Any], int]:
    """The response body and status for a pre-chat form ``body`` from address ``client``: queued
    (201) or closed (200)."""
    started = time.perf_counter()
    edge.throttles.new_chat(client)
    form = await forms.parse_chat(body, check_domain=edge.config.check_email_domain)
    view = queue_view(edge, form.queue)
    forms.require_fields(form, view.config.required_fields)
    forms.require_consent(form.consent, view.config.consent_notice)
    # a messaging conversation waits for an agent however long it takes: nobody online is no reason
    # to turn its customer away (PROTOCOL.md §7)
    if not view.open or (view.agents_online == 0 and view.config.mode != "messaging"):
        return {"status": "closed", "reason": "outside_hours" if not view.open else "no_agents",
                "message": view.config.closed_message, "next_open": iso(view.next_open),
                "offline_requests": True}, 200
    queue_key = edge.router.next_queue_key()
    name, email, verified = form.name, form.email, []
    if form.identity is not None and auth.identity_hmac_ok(view.config.identity_secret,
                                                           form.identity.signed_email, form.identity.hmac):
        email = form.identity.email
        verified = ["email"]
        if form.identity.name:
            name = form.identity.name
            verified.append("name")
    conversation_id = str(uuid.uuid4())
    created = utc_now()
    token, token_hash = auth.new_token()
    wire = {"conversation_id": conversation_id, "seq": 1, "id": str(uuid.uuid4()),
            "sender": {"kind": "customer", "id": None, "name": name}, "text": form.question,
            "private": False, "attachments": [], "options": None, "option_id": None, "at": iso(created)}
    await edge.persister.write([   # one statement with the rest of its round (commit_plan.py)
        queries.insert_conversation(conversation_id, form.queue, name, email, verified, form.fields,
                                    queue_key, created, created if view.config.consent_notice else None,
                                    form.language),
        queries.insert_message({**wire, "_at": created}, "customer"),
        queries.insert_token(token_hash, "customer", conversation_id,
                             created + timedelta(seconds=CUSTOMER_TOKEN_TTL_S)),
    ], conversation_id)
    record = ConversationRecord(conversation_id, form.queue, "queued", name, email, verified, created,
                                messages=[StoredMessage.of(wire, "customer", None)], language=form.language)
    conv = edge.conversations.open(record)
    position = await edge.router.call(lambda reply: Enqueue(
        conversation_id, form.queue, {"customer": conv.customer_info, "question": form.question},
        queue_key, reply))
    metrics.CHAT_START_LATENCY.observe(time.perf_counter() - started)
    return {"status": "queued", "conversation_id": conversation_id, "customer_token": token,
            "position": position}, 201
