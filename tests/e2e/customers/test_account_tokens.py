"""Account tokens on a real engine (PROTOCOL.md §6): the optional password, sign-out of one token or
everywhere (link tokens too), and tokens that work only where their kind may."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from accountkit import (  # noqa: F401  (fixture)
    bearer,
    known_customer,
    psql,
    sign_in,
    signed_in,
    smtp_fixture,
)
from conftest import Engine, Postgres, connect, make_config, running_engine
from mail.smtpkit import Smtp

from frontdesk.core import auth

EMAIL = "cora@example.com"


@pytest.fixture
async def engine(database_url: str, data_dir: Path, smtp: Smtp) -> AsyncIterator[Engine]:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as e:
        await known_customer(e, EMAIL)
        yield e


async def test_a_password_needs_ten_characters_and_then_signs_in(engine: Engine, smtp: Smtp) -> None:
    token = (await signed_in(engine, smtp, EMAIL))["token"]
    async with engine.http() as http:
        short = await http.post("/api/customers/password", headers=bearer(token), json={"password": "123456789"})
        assert short.status_code == 422
        assert (short.json()["error"]["code"], short.json()["error"]["field"]) == ("invalid_value", "password")
        ok = await http.post("/api/customers/password", headers=bearer(token), json={"password": "1234567890"})
        assert ok.status_code == 204 and ok.content == b""
        anonymous = await http.post("/api/customers/password", json={"password": "1234567890"})
        assert anonymous.status_code == 401
    r = await sign_in(engine, EMAIL.upper(), password="1234567890")
    assert r.status_code == 200 and r.json()["password_change_required"] is False
    for email, password in ((EMAIL, "123456789X"), ("nobody@example.com", "1234567890")):
        wrong = await sign_in(engine, email, password=password)
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_credentials"


async def test_sign_out_revokes_that_token_and_leaves_the_others(engine: Engine, smtp: Smtp) -> None:
    phone = (await signed_in(engine, smtp, EMAIL))["token"]
    laptop = (await signed_in(engine, smtp, EMAIL))["token"]
    async with engine.http() as http:
        r = await http.post("/api/customers/logout", headers=bearer(phone))
        assert r.status_code == 204 and r.content == b""
        assert (await http.get("/api/customers/me", headers=bearer(phone))).status_code == 401
        assert (await http.post("/api/customers/logout", headers=bearer(phone))).status_code == 401
        assert (await http.get("/api/customers/me", headers=bearer(laptop))).status_code == 200


async def test_sign_out_everywhere_revokes_every_account_and_link_token_of_the_customer(
        engine: Engine, smtp: Smtp, postgres: Postgres, database_url: str) -> None:
    phone = (await signed_in(engine, smtp, EMAIL))["token"]
    laptop = (await signed_in(engine, smtp, EMAIL))["token"]
    customer_id = (await signed_in(engine, smtp, EMAIL))["customer"]["id"]
    other = await known_customer(engine, "otto@example.com", "Otto Other")
    otto = (await signed_in(engine, smtp, "otto@example.com"))["token"]
    # link tokens, as notification mails hand them out (one conversation each)
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    for who in (customer_id, customer_id, other["id"]):
        link_hash = auth.token_hash(auth.new_token()[0]).hex()
        await psql(postgres, database_url,
                   f"INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) VALUES "
                   f"('\\x{link_hash}', 'link', gen_random_uuid(), '{who}', '{expires}');")
    async with engine.http() as http:
        r = await http.post("/api/customers/logout", headers=bearer(phone), json={"everywhere": True})
        assert r.status_code == 204
        for token in (phone, laptop):
            assert (await http.get("/api/customers/me", headers=bearer(token))).status_code == 401
        assert (await http.get("/api/customers/me", headers=bearer(otto))).status_code == 200
    assert await psql(postgres, database_url,
                      f"SELECT count(*) FROM tokens WHERE customer_id = '{customer_id}'") == "0"
    assert await psql(postgres, database_url,
                      f"SELECT count(*) FROM tokens WHERE customer_id = '{other['id']}' AND kind = 'link'") == "1"


async def test_sign_out_closes_the_tokens_open_sockets(engine: Engine, smtp: Smtp) -> None:
    """A socket of an account token is the websocket side's; whatever it makes of it, the token's
    sign-out must not leave it open."""
    token = (await signed_in(engine, smtp, EMAIL))["token"]
    async with connect(engine, token, "account", hello=False) as ws:
        await ws.send({"type": "hello", "token": token})
        await ws.expect_one_of({"welcome", "error"})
        async with engine.http() as http:
            assert (await http.post("/api/customers/logout", headers=bearer(token))).status_code == 204
        assert await ws.closed_code() is not None


async def test_each_route_takes_its_own_kind_of_token(engine: Engine, smtp: Smtp) -> None:
    account = (await signed_in(engine, smtp, EMAIL))["token"]
    supervisor = (await engine.login("supervisor@demo.test", kind="supervisors"))["token"]
    agent = (await engine.login("agent1@demo.test"))["token"]
    async with engine.http() as http:
        for token in (supervisor, agent):
            for path in ("/api/customers/me", "/api/customers/me/conversations"):
                r = await http.get(path, headers=bearer(token))
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
            assert (await http.post("/api/customers/logout", headers=bearer(token))).status_code == 403
        for method, path in (("GET", "/api/customers"), ("POST", "/api/customers"), ("GET", "/api/agents"),
                             ("POST", "/api/agents/logout"), ("GET", "/api/canned")):
            r = await http.request(method, path, headers=bearer(account), json={})
            assert r.status_code == 403, (method, path, r.text)
        for path in ("/api/customers/me", "/api/customers/me/conversations"):
            assert (await http.get(path)).status_code == 401
            assert (await http.get(path, headers=bearer("not-a-token"))).status_code == 401
