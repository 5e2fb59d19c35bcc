"""Staff: agents' and supervisors' sign-in and sign-out, the list of colleagues, canned messages."""

from __future__ import annotations

from datetime import timedelta

import trio
from quart import Response
from quart_trio import QuartTrio

from frontdesk.core import auth
from frontdesk.core.errors import FrontdeskError
from frontdesk.core.wire import utc_now
from frontdesk.engine.edge import forms
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import authenticate, client_address, empty_response, json_response, read_body
from frontdesk.engine.edge.sessions import token_key
from frontdesk.engine.runtime.config import STAFF_TOKEN_TTL_S
from frontdesk.engine.storage import admin, queries


def register(app: QuartTrio, edge: EdgeContext) -> None:
    db = edge.db

    async def login(role: str) -> Response:
        form = forms.parse_login(await read_body())
        address = client_address(edge.throttles)
        edge.throttles.check_signin(form.email, address)
        row = await queries.staff_by_email(db, form.email, role)
        stored_hash = row["password_hash"] if row else None
        if not await trio.to_thread.run_sync(auth.verify_password, stored_hash, form.password) or row is None:
            edge.throttles.failed_signin(form.email, address)   # an unknown account counts alike
            raise FrontdeskError("bad_credentials", "wrong e-mail or password")
        token, token_hash = auth.new_token()
        await edge.persister.write([queries.insert_token(
            token_hash, role, str(row["id"]), utc_now() + timedelta(seconds=STAFF_TOKEN_TTL_S))])
        profile = await queries.staff_profile(db, str(row["id"]))
        assert profile is not None
        person = {"id": str(row["id"]), "name": row["name"], "email": row["email"],
                  "capacity": row["capacity"], "queues": list(profile["queues"])}
        return json_response({"token": token, role: person})

    async def logout(role: str) -> Response:
        """Revokes the caller's own token (PROTOCOL.md §13); a token of another kind is refused (403)."""
        who = await authenticate(db, role)
        await edge.persister.write([queries.revoke_token(who.token_hash, role)])
        for session in edge.sessions.holding(token_key(who.token_hash)):
            session.revoke()        # the token's open sockets end with it
        return empty_response(204)

    @app.post("/api/agents/login")
    async def agent_login() -> Response:
        return await login("agent")

    @app.post("/api/supervisors/login")
    async def supervisor_login() -> Response:
        return await login("supervisor")

    @app.post("/api/agents/logout")
    async def agent_logout() -> Response:
        return await logout("agent")

    @app.post("/api/supervisors/logout")
    async def supervisor_logout() -> Response:
        return await logout("supervisor")

    @app.get("/api/agents")
    async def list_agents() -> Response:
        who = await authenticate(db, "agent", "supervisor")
        if who.kind == "supervisor":    # every field, disabled agents too (PROTOCOL.md §14)
            return json_response({"agents": [admin.staff_wire(r) for r in await admin.staff_list(db, "agent")]})
        return json_response({"agents": [
            {"id": str(r["id"]), "name": r["name"], "presence": r["presence"], "queues": list(r["queues"]),
             "open_conversations": r["open_conversations"], "capacity": r["capacity"]}
            for r in await queries.colleagues(db)]})

    @app.get("/api/canned")
    async def canned() -> Response:
        who = await authenticate(db, "agent", "supervisor")
        rows = (await queries.canned_for_agent(db, who.subject_id) if who.kind == "agent"
                else await admin.canned_list(db))
        return json_response({"canned": [{"id": str(r["id"]), "title": r["title"], "text": r["text"],
                                          "queue": r["queue"]} for r in rows]})
