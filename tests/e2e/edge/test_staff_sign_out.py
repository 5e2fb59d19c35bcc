"""Staff sign-out (PROTOCOL.md §13): ``POST /api/agents/logout`` and ``POST /api/supervisors/logout``
revoke the bearer token they are sent with; afterwards that token is as unknown as a made-up one,
on HTTP and on the websocket, while the person's other tokens keep working."""

from __future__ import annotations

import httpx
import pytest
from conftest import Engine, agent, connect


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


async def hello_is_refused(engine: Engine, token: str) -> None:
    async with connect(engine, None, hello=False) as c:
        await c.send({"type": "hello", "token": token})
        assert (await c.expect("error"))["code"] == "unauthenticated"
        assert await c.closed_code() == 1008


async def test_agent_sign_out_revokes_that_token_on_http_and_websocket(engine: Engine) -> None:
    signed_in = (await engine.login("agent1@demo.test"))["token"]
    other_device = (await engine.login("agent1@demo.test"))["token"]
    async with engine.http() as http:
        assert (await http.get("/api/canned", headers=bearer(signed_in))).status_code == 200

        r = await http.post("/api/agents/logout", headers=bearer(signed_in))
        assert r.status_code == 204 and r.content == b""

        assert_error(await http.get("/api/canned", headers=bearer(signed_in)), 401, "unauthenticated")
        assert_error(await http.post("/api/agents/logout", headers=bearer(signed_in)), 401, "unauthenticated")
        assert (await http.get("/api/canned", headers=bearer(other_device))).status_code == 200
    await hello_is_refused(engine, signed_in)
    async with connect(engine, other_device) as c:
        assert c.info["role"] == "agent"


async def test_signing_out_closes_the_tokens_open_sockets_and_it_cannot_connect_again(engine: Engine) -> None:
    other_device = (await engine.login("agent1@demo.test"))["token"]
    async with agent(engine, 1) as a1, connect(engine, a1.token, "second tab") as tab, \
            connect(engine, other_device, "other device") as other:
        async with engine.http() as http:
            assert (await http.post("/api/agents/logout", headers=bearer(a1.token))).status_code == 204
        for c in (a1, tab):
            assert (await c.expect("error"))["code"] == "unauthenticated"
            assert await c.closed_code() == 1008
        await other.send({"type": "ping"})      # another token of the same agent works on
        await other.expect("pong")
    await hello_is_refused(engine, a1.token)


async def test_supervisor_sign_out_revokes_that_token(engine: Engine) -> None:
    token = (await engine.login("supervisor@demo.test", kind="supervisors"))["token"]
    async with engine.http() as http:
        assert (await http.get("/api/agents", headers=bearer(token))).status_code == 200

        r = await http.post("/api/supervisors/logout", headers=bearer(token))
        assert r.status_code == 204 and r.content == b""

        assert_error(await http.get("/api/agents", headers=bearer(token)), 401, "unauthenticated")
        assert_error(await http.post("/api/supervisors/logout", headers=bearer(token)), 401, "unauthenticated")
    await hello_is_refused(engine, token)


@pytest.mark.parametrize(("holder", "route"), [
    ("agent", "/api/supervisors/logout"),
    ("supervisor", "/api/agents/logout"),
    ("customer", "/api/agents/logout"),
    ("customer", "/api/supervisors/logout"),
])
async def test_a_token_of_another_kind_is_refused_and_stays_valid(engine: Engine, holder: str, route: str) -> None:
    if holder == "customer":
        async with agent(engine, 1):
            chat = await engine.start_chat()
        token, still_allowed = chat["customer_token"], f"/api/conversations/{chat['conversation_id']}/transcript"
    elif holder == "agent":
        token, still_allowed = (await engine.login("agent2@demo.test"))["token"], "/api/canned"
    else:
        token, still_allowed = (await engine.login("supervisor@demo.test", kind="supervisors"))["token"], "/api/agents"
    async with engine.http() as http:
        assert_error(await http.post(route, headers=bearer(token)), 403, "forbidden")
        assert (await http.get(still_allowed, headers=bearer(token))).status_code == 200


@pytest.mark.parametrize("route", ["/api/agents/logout", "/api/supervisors/logout"])
@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-token"),
    pytest.param(bearer("made-up-token"), id="unknown-token"),
    pytest.param({"Authorization": "Basic YWdlbnQ6cHc="}, id="not-a-bearer"),
])
async def test_sign_out_without_a_valid_token_is_401(engine: Engine, route: str, headers: dict[str, str]) -> None:
    async with engine.http() as http:
        assert_error(await http.post(route, headers=headers), 401, "unauthenticated")
