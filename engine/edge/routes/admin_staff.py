"""Administration of staff (PROTOCOL.md §10, §14), supervisors only: agents and supervisors created,
changed (name, e-mail, capacity, queues), disabled or enabled again, and given a new password.

Every change is committed with its audit row (``storage/admin.py``); the ``frontdesk_staff``
notification then carries it to the Router of every engine (``supervisor/housekeeping.py``).
Disabling deletes the person's tokens in that same transaction, so their HTTP calls are 401 from
the commit on; this engine also closes their open sockets at once (1008) and has the Router take
their chats back to the queue, without waiting for the notification.
"""

from __future__ import annotations

import trio
from quart import Response
from quart_trio import QuartTrio

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError
from frontdesk.engine.edge import admin_forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import Caller, authenticate, json_response, read_body
from frontdesk.engine.edge.sessions import staff_key
from frontdesk.engine.routing.commands import DisableAgent
from frontdesk.engine.storage import admin
from frontdesk.engine.storage.db import UniqueViolation

_DUPLICATE_EMAIL = FrontdeskError("duplicate", "another staff member has this e-mail address", field="email")


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    async def known_queues(names: list[str]) -> None:
        found = await admin.existing_queues(db, names)
        for i, name in enumerate(names):
            if name not in found:
                raise FrontdeskError("invalid_value", f"there is no queue {name!r}", field=f"queues[{i}]")

    async def create(role: str, who: Caller, form: admin_forms.NewStaff) -> Response:
        await known_queues(form.queues)
        password_hash = await trio.to_thread.run_sync(auth.hash_password, form.password)
        try:
            person = await admin.create_staff(db, who.subject_id, role, form.name, form.email, password_hash,
                                              form.capacity, form.queues)
        except UniqueViolation:
            raise _DUPLICATE_EMAIL from None
        return json_response(person, 201)

    async def change(role: str, who: Caller, staff_id: str, form: admin_forms.StaffChanges) -> Response:
        if form.queues is not None:
            await known_queues(form.queues)
        if role == "supervisor" and form.disabled and staff_id.lower() == who.subject_id:
            raise FrontdeskError("invalid_value", "you cannot disable yourself", field="disabled")
        password_hash = (await trio.to_thread.run_sync(auth.hash_password, form.password)
                         if form.password is not None else None)
        try:
            changed = await admin.change_staff(db, who.subject_id, staff_id, role, form.columns, form.queues,
                                               password_hash, form.disabled)
        except UniqueViolation:
            raise _DUPLICATE_EMAIL from None
        if changed is None:
            raise FrontdeskError("not_found", f"no such {role}")
        before, after = changed
        if form.disabled and not before["disabled"]:
            await sign_out_everywhere(role, after["id"])
        return json_response(after)

    async def sign_out_everywhere(role: str, staff_id: str) -> None:
        """This engine's share of a disable: sockets closed now, chats requeued (others hear the NOTIFY)."""
        for session in edge.sessions.holding(staff_key(staff_id)):
            session.revoke()
        await edge.router.send(DisableAgent(staff_id))      # a supervisor may own chats it took over

    @app.post("/api/agents")
    async def create_agent() -> Response:
        who = await authenticate(db, "supervisor")
        return await create("agent", who, await admin_forms.parse_new_agent(await read_body()))

    @app.patch("/api/agents/<staff_id>")
    async def change_agent(staff_id: str) -> Response:
        who = await authenticate(db, "supervisor")
        return await change("agent", who, staff_id, await admin_forms.parse_staff_changes(await read_body(),
                                                                                          agent=True))

    @app.get("/api/supervisors")
    async def list_supervisors() -> Response:
        await authenticate(db, "supervisor")
        return json_response({"supervisors": [admin.staff_wire(r) for r in await admin.staff_list(db, "supervisor")]})

    @app.post("/api/supervisors")
    async def create_supervisor() -> Response:
        who = await authenticate(db, "supervisor")
        return await create("supervisor", who, await admin_forms.parse_new_supervisor(await read_body()))

    @app.patch("/api/supervisors/<staff_id>")
    async def change_supervisor(staff_id: str) -> Response:
        who = await authenticate(db, "supervisor")
        return await change("supervisor", who, staff_id,
                            await admin_forms.parse_staff_changes(await read_body(), agent=False))
