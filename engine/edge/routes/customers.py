"""Customers (PROTOCOL.md §6): their accounts — sign-in by code or password, the password, sign-out,
what a signed-in customer sees — and the staff's side: create, change, find and activate customers.

Who may call what: the account routes take an account token (a restricted one only where it may
set its password or sign out); creating, changing and activating customers is for supervisors
(no queue setting lets agents do it yet); finding customers is for agents and supervisors, who
start conversations with them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import utc_now
from frontdesk.engine.edge import account_view, accounts, customer_forms
from frontdesk.engine.edge.account_view import customer_wire
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import authenticate, client_address, empty_response, json_response, read_body
from frontdesk.engine.storage import customers, queries
from frontdesk.engine.storage.db import Row, UniqueViolation


def _conversations_cursor(value: str | None) -> tuple[datetime, str] | None:
    after = customer_forms.parse_cursor(value)
    if after is None:
        return None
    try:
        return datetime.fromisoformat(after[0]), after[1]
    except ValueError:
        raise FrontdeskError("invalid_value", "cursor is not one this API gave", field="cursor") from None


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    async def _refuse_duplicates(email: str | None, mobile: str | None, external_id: str | None,
                                 other_than: str | None = None) -> None:
        field = await customers.conflicting_field(db, email, mobile, external_id, other_than)
        if field is not None:
            raise FrontdeskError("duplicate", f"another customer has this {field.replace('_', ' ')}", field=field)

    # ---- the customer's account ----

    @app.post("/api/customers/code")
    async def request_code() -> Response:
        email = await customer_forms.parse_code_request(await read_body())
        await accounts.request_code(edge, email)
        return json_response({"status": "accepted"}, 202)       # the same for every address

    @app.post("/api/customers/login")
    async def login() -> Response:
        form = customer_forms.parse_customer_login(await read_body())
        return json_response(await accounts.sign_in(edge, form, client_address(edge.throttles)))

    @app.post("/api/customers/password")
    async def set_password() -> Response:
        who = await authenticate(db, "account", restricted_ok=True)
        password = customer_forms.parse_new_password(await read_body())
        await accounts.set_password(edge, who, password)
        return empty_response(204)

    @app.post("/api/customers/logout")
    async def logout() -> Response:
        # a restricted token may sign out too: ending it is what a customer who gives up on it wants
        who = await authenticate(db, "account", restricted_ok=True)
        everywhere = customer_forms.parse_logout(await read_body())
        await accounts.sign_out(edge, who, everywhere)
        return empty_response(204)

    @app.get("/api/customers/me")
    async def me() -> Response:
        who = await authenticate(db, "account")
        row = await customers.customer(db, who.subject_id)
        if row is None:
            raise FrontdeskError("not_found", "no such customer")
        queues = await customers.writable_queues(db, who.subject_id)
        return json_response({**customer_wire(row),
                              "queues": [{"queue": q["queue"], "title": q["title"] or q["queue"]} for q in queues]})

    @app.get("/api/customers/me/conversations")
    async def my_conversations() -> Response:
        who = await authenticate(db, "account")
        limit = customer_forms.parse_limit(request.args.get("limit"))
        before = _conversations_cursor(request.args.get("cursor"))
        rows = await queries.account_conversations(db, who.subject_id, limit + 1, before)
        page = rows[:limit]
        more = len(rows) > limit
        next_cursor = (customer_forms.encode_cursor(page[-1]["last_activity_at"].isoformat(), str(page[-1]["id"]))
                       if more else None)
        return json_response({"conversations": [account_view.conversation_wire(r) for r in page],
                              "next_cursor": next_cursor})

    # ---- the staff's side ----

    @app.post("/api/customers")
    async def create() -> Response:
        await authenticate(db, "supervisor")
        form = await customer_forms.parse_new_customer(await read_body())
        await _refuse_duplicates(form.email, form.mobile, form.external_id)
        customer_id = str(uuid.uuid4())
        try:
            await edge.persister.write([customers.insert_customer(
                customer_id, form.name, form.email, form.mobile, form.external_id, form.language, utc_now())])
        except UniqueViolation:     # made meanwhile by another request
            await _refuse_duplicates(form.email, form.mobile, form.external_id)
            raise
        row = await customers.customer(db, customer_id)
        assert row is not None
        return json_response(customer_wire(row), 201)

    @app.get("/api/customers")
    async def search() -> Response:
        await authenticate(db, "agent", "supervisor")
        q = customer_forms.parse_query(request.args.get("q"))
        limit = customer_forms.parse_limit(request.args.get("limit"))
        after = customer_forms.parse_cursor(request.args.get("cursor"))
        rows = await customers.search(db, q, limit + 1, after)
        page = rows[:limit]
        next_cursor = (customer_forms.encode_cursor(page[-1]["sort_name"], str(page[-1]["id"]))
                       if len(rows) > limit else None)
        return json_response({"customers": [customer_wire(r) for r in page], "next_cursor": next_cursor})

    @app.get("/api/customers/<customer_id>")
    async def get_customer(customer_id: str) -> Response:
        await authenticate(db, "agent", "supervisor")
        row = await customers.customer(db, customer_id)
        if row is None:
            raise FrontdeskError("not_found", "no such customer")
        return json_response(customer_wire(row))

    @app.patch("/api/customers/<customer_id>")
    async def change(customer_id: str) -> Response:
        await authenticate(db, "supervisor")
        changes = customer_forms.parse_customer_changes(await read_body())
        current = await customers.customer(db, customer_id)
        if current is None:
            raise FrontdeskError("not_found", "no such customer")
        _keep_external_id(current, changes)
        await _refuse_duplicates(None, changes.get("mobile"), changes.get("external_id"), other_than=customer_id)
        try:
            row = await customers.update_customer(db, customer_id, changes)
        except UniqueViolation:
            await _refuse_duplicates(None, changes.get("mobile"), changes.get("external_id"), other_than=customer_id)
            raise
        if row is None:             # its external id was set meanwhile
            raise FrontdeskError("immutable", "external_id cannot change once set", field="external_id")
        return json_response(customer_wire(row))

    @app.post("/api/customers/<customer_id>/activate")
    async def activate(customer_id: str) -> Response:
        await authenticate(db, "supervisor")
        answer = await accounts.activate(edge, customer_id)
        if answer is None:
            raise FrontdeskError("not_found", "no such customer")
        return json_response(answer, 202)


def _keep_external_id(current: Row, changes: dict[str, str | None]) -> None:
    """An external id, once set, never changes (PROTOCOL.md §6): giving it again unchanged is fine."""
    if "external_id" in changes and current["external_id"] is not None \
            and changes["external_id"] != current["external_id"]:
        raise FrontdeskError("immutable", "external_id cannot change once set", field="external_id")
