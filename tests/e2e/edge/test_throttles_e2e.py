"""The edge's throttles against a real engine (PROTOCOL.md §13): 429 ``rate_limited`` with
``Retry-After`` for failed sign-ins per account and per address, new chats per address on both
HTTP paths, offline requests' confirmation mails per e-mail address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PASSWORD, Engine, make_config, running_engine

from frontdesk.engine.runtime.config import Limit


@pytest.fixture
async def throttled(database_url: str, data_dir: Path) -> AsyncIterator[Engine]:
    config = make_config(database_url, data_dir, rate_limit_per_s=20, rate_limit_burst=40,
                         limit_signin_failures=Limit(3, 900), limit_signin_failures_per_address=Limit(5, 900),
                         limit_chats_per_address=Limit(2, 600), limit_offline_per_address=Limit(5, 3600),
                         limit_mails_per_email=Limit(2, 3600))
    async with running_engine(config) as engine:
        yield engine


def assert_rate_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/agents/login", json={"email": email, "password": password})


async def test_failed_sign_ins_lock_the_account_for_a_while_even_for_the_right_password(throttled: Engine) -> None:
    async with throttled.http() as http:
        for _ in range(3):
            assert (await login(http, "agent1@demo.test", "wrong")).status_code == 401
        assert_rate_limited(await login(http, "agent1@demo.test", PASSWORD))
        assert (await login(http, "agent2@demo.test", PASSWORD)).status_code == 200    # another account


async def test_an_unknown_account_counts_like_a_wrong_password_and_the_address_has_its_own_limit(
        throttled: Engine) -> None:
    async with throttled.http() as http:
        for i in range(5):
            assert (await login(http, f"nobody{i}@demo.test", "guess")).status_code == 401
        assert_rate_limited(await login(http, "agent3@demo.test", PASSWORD))


async def start(http: httpx.AsyncClient, n: int) -> httpx.Response:
    return await http.post("/api/chats", json={"queue": "support", "name": f"Loop {n}", "email": "loop@example.com",
                                               "question": "spam?"})


async def test_new_chats_from_one_address_are_limited_on_the_chat_door(throttled: Engine) -> None:
    for n in range(2):
        async with throttled.http() as http:     # a fresh connection each time: the listener's chat door
            assert (await start(http, n)).status_code in (200, 201)
    async with throttled.http() as http:
        assert_rate_limited(await start(http, 3))


async def test_new_chats_from_one_address_are_limited_on_the_apps_route_too(throttled: Engine) -> None:
    async with throttled.http() as http:
        assert (await http.get("/healthz")).status_code == 200     # the connection goes on to the app
        for n in range(2):
            assert (await start(http, n)).status_code in (200, 201)
        assert_rate_limited(await start(http, 3))


async def test_behind_a_proxy_on_loopback_each_forwarded_client_has_its_own_limit(throttled: Engine) -> None:
    async with throttled.http() as http:
        for n in range(2):
            r = await http.post("/api/chats", headers={"X-Forwarded-For": "203.0.113.5"},
                                json={"queue": "support", "name": f"A {n}", "email": "a@example.com", "question": "?"})
            assert r.status_code in (200, 201)
        r = await http.post("/api/chats", headers={"X-Forwarded-For": "203.0.113.5"},
                            json={"queue": "support", "name": "A 3", "email": "a@example.com", "question": "?"})
        assert_rate_limited(r)
        r = await http.post("/api/chats", headers={"X-Forwarded-For": "203.0.113.6"},
                            json={"queue": "support", "name": "B", "email": "b@example.com", "question": "?"})
        assert r.status_code in (200, 201)


async def offline(http: httpx.AsyncClient, email: str) -> Any:
    return await http.post("/api/offline-requests", json={"queue": "support", "name": "Olga", "email": email,
                                                          "question": "call me back"})


async def test_confirmation_mails_to_one_address_are_limited(throttled: Engine) -> None:
    async with throttled.http() as http:
        for _ in range(2):
            assert (await offline(http, "stranger@example.com")).status_code == 201
        assert_rate_limited(await offline(http, "Stranger@Example.com"))
        assert (await offline(http, "someone.else@example.com")).status_code == 201
