"""Helpers of the administration tests: a supervisor's and an agent's HTTP calls, error checks."""

from __future__ import annotations

from typing import Any

import httpx
from conftest import Engine


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(r: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error


class Admin:
    """HTTP calls of one signed-in supervisor (and, to check refusals, of agent1)."""

    def __init__(self, engine: Engine, http: httpx.AsyncClient, token: str, supervisor_id: str, agent_token: str):
        self.engine = engine
        self.http = http
        self.token = token
        self.id = supervisor_id
        self.agent_token = agent_token

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> httpx.Response:
        return await self.http.request(method, path, json=body, headers=bearer(token or self.token))

    async def as_agent(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.call(method, path, body, token=self.agent_token)

    async def agent_id(self, email: str) -> str:
        r = await self.call("GET", "/api/agents")
        return next(a["id"] for a in r.json()["agents"] if a["email"] == email)


async def admin_of(engine: Engine, http: httpx.AsyncClient) -> Admin:
    sup = await engine.login("supervisor@demo.test", kind="supervisors")
    agent = await engine.login("agent1@demo.test")
    return Admin(engine, http, sup["token"], sup["supervisor"]["id"], agent["token"])
