"""Helpers of the administration tests: a supervisor's and an agent's HTTP calls, error checks."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import trio
from conftest import Engine, Postgres


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


async def sql_rows(postgres: Postgres, database_url: str, query: str) -> list[dict[str, Any]]:
    """The rows of ``query`` in this test's own database, as JSON objects."""
    name = urlsplit(database_url).path.lstrip("/")
    script = (f"\\set QUIET on\n\\set ON_ERROR_STOP on\n\\c {name}\n\\pset tuples_only on\n"
              f"\\pset format unaligned\nSELECT coalesce(json_agg(t), '[]') FROM ({query}) t;\n")
    return list(json.loads(await trio.to_thread.run_sync(postgres.psql, script)))
