"""Sign-in by one-time code (PROTOCOL.md §6, §14) on a real engine, PostgreSQL and SMTP server: the
same answer for every address, a code only for a customer, its lifetime, its tries, one live code
per customer, and the throttles of code requests and failed sign-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from accountkit import (  # noqa: F401  (fixture)
    bearer,
    code_in,
    known_customer,
    psql,
    psql_until,
    request_code,
    sign_in,
    smtp_fixture,
)
from conftest import Engine, Postgres, make_config, running_engine
from mail.smtpkit import Smtp, outbox

from frontdesk.engine.runtime.config import Limit

KNOWN = "cora@example.com"


@pytest.fixture
async def engine(database_url: str, data_dir: Path, smtp: Smtp) -> AsyncIterator[Engine]:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as e:
        await known_customer(e, KNOWN)        # KNOWN has a record, nobody else does
        yield e


async def mailed_code(smtp: Smtp, count: int) -> str:
    """The code in the ``count``-th mail (1-based), once it has arrived."""
    mails = await smtp.catcher.wait_for(count)
    return code_in(mails[count - 1].part("text/plain"))


async def test_a_code_request_answers_alike_for_every_address_and_mails_only_a_customer(
        engine: Engine, smtp: Smtp, postgres: Postgres, database_url: str) -> None:
    unknown = await request_code(engine, "nobody@example.com")
    known = await request_code(engine, KNOWN.upper())       # addresses compare case-insensitively
    assert unknown.status_code == known.status_code == 202
    assert unknown.content == known.content
    assert {k: v for k, v in unknown.headers.items() if k not in ("date", "content-length")} == \
        {k: v for k, v in known.headers.items() if k not in ("date", "content-length")}
    (mail,) = await smtp.catcher.wait_for(1)
    assert mail.rcpt_tos == [KNOWN] and mail.message["To"] == KNOWN
    assert mail.message.get_content_type() == "multipart/alternative"
    code = code_in(mail.part("text/plain"))
    assert len(code) >= 6 and code in mail.part("text/html")
    assert "Cora Customer" in mail.part("text/plain")
    rows = await outbox(postgres, database_url)
    assert [r["recipient"] for r in rows] == [KNOWN]             # nothing was queued for the unknown address
    assert await psql(postgres, database_url, "SELECT count(*) FROM customer_codes") == "1"
    # the code is stored hashed, never as typed
    assert await psql(postgres, database_url,
                      f"SELECT count(*) FROM customer_codes WHERE position('{code}'::bytea in code_hash) > 0") == "0"


async def test_the_mailed_code_signs_the_customer_in_once(engine: Engine, smtp: Smtp) -> None:
    assert (await request_code(engine, KNOWN)).status_code == 202
    code = await mailed_code(smtp, 1)
    r = await sign_in(engine, KNOWN, code=code)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["password_change_required"] is False
    assert answer["customer"]["email"] == KNOWN and answer["customer"]["name"] == "Cora Customer"
    assert set(answer["customer"]) == {"id", "name", "email", "mobile", "external_id", "language", "created_at",
                                       "activated_at"}
    async with engine.http() as http:
        me = await http.get("/api/customers/me", headers=bearer(answer["token"]))
    assert me.status_code == 200
    assert me.json() == {**answer["customer"], "queues": [{"queue": "messages", "title": "Messages"}]}
    again = await sign_in(engine, KNOWN, code=code)
    assert again.status_code == 401 and again.json()["error"]["code"] == "bad_code"


async def test_an_unknown_address_and_a_wrong_code_get_the_same_refusal(engine: Engine, smtp: Smtp) -> None:
    assert (await request_code(engine, KNOWN)).status_code == 202
    code = await mailed_code(smtp, 1)
    wrong = str((int(code) + 1) % 10 ** len(code)).zfill(len(code))
    answers = [await sign_in(engine, "nobody@example.com", code=code), await sign_in(engine, KNOWN, code=wrong)]
    for r in answers:
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "bad_code"
    assert answers[0].content == answers[1].content


async def test_a_code_is_void_after_five_wrong_tries(engine: Engine, smtp: Smtp) -> None:
    assert (await request_code(engine, KNOWN)).status_code == 202
    code = await mailed_code(smtp, 1)
    for n in range(5):
        r = await sign_in(engine, KNOWN, code=f"{n:06d}" if f"{n:06d}" != code else "999999x")
        assert r.status_code == 401
    assert (await sign_in(engine, KNOWN, code=code)).status_code == 401


async def test_four_wrong_tries_leave_the_fifth_for_the_right_code(engine: Engine, smtp: Smtp) -> None:
    assert (await request_code(engine, KNOWN)).status_code == 202
    code = await mailed_code(smtp, 1)
    for _ in range(4):
        assert (await sign_in(engine, KNOWN, code="not-it")).status_code == 401
    assert (await sign_in(engine, KNOWN, code=code)).status_code == 200


async def test_a_new_code_voids_the_old_one(engine: Engine, smtp: Smtp) -> None:
    assert (await request_code(engine, KNOWN)).status_code == 202
    first = await mailed_code(smtp, 1)
    assert (await request_code(engine, KNOWN)).status_code == 202
    second = await mailed_code(smtp, 2)
    if first != second:
        assert (await sign_in(engine, KNOWN, code=first)).status_code == 401
    assert (await sign_in(engine, KNOWN, code=second)).status_code == 200


async def test_a_code_is_refused_once_its_lifetime_is_over(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp) -> None:
    await smtp.start()
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url, code_ttl_s=1)) as engine:
        await known_customer(engine, KNOWN)
        assert (await request_code(engine, KNOWN)).status_code == 202
        (mail,) = await smtp.catcher.wait_for(1)
        assert "valid for 1 minute" in mail.part("text/plain")    # a second rounds up to a minute
        # the clock the code is judged by is PostgreSQL's: wait until it has passed the code's end
        await psql_until(postgres, database_url, "SELECT bool_and(expires_at <= now()) FROM customer_codes", "t")
        r = await sign_in(engine, KNOWN, code=code_in(mail.part("text/plain")))
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_code"


async def test_a_code_sign_in_needs_a_code_or_a_password_and_not_both(engine: Engine) -> None:
    async with engine.http() as http:
        for body, code, field in (({"email": KNOWN}, "missing_field", "code"),
                                  ({"email": KNOWN, "code": 123456}, "invalid_value", "code"),
                                  ({"email": KNOWN, "code": "1", "password": "x"}, "invalid_value", "password"),
                                  ({"code": "123456"}, "missing_field", "email")):
            r = await http.post("/api/customers/login", json=body)
            assert r.status_code == 422, r.text
            assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, field)
        r = await http.post("/api/customers/code", json={"email": "a@example.com\r\nBcc: x@evil.test"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "email"


# ---- throttles ----------------------------------------------------------------------------

@pytest.fixture
async def throttled(database_url: str, data_dir: Path, smtp: Smtp) -> AsyncIterator[Engine]:
    await smtp.start()
    config = make_config(database_url, data_dir, smtp_url=smtp.url, rate_limit_per_s=20, rate_limit_burst=40,
                         limit_code_requests_per_email=Limit(2, 3600), limit_customer_signin_failures=Limit(3, 900),
                         limit_customer_signin_failures_per_address=Limit(5, 900))
    async with running_engine(config) as e:
        await known_customer(e, KNOWN)
        yield e


def assert_rate_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1


async def test_code_requests_are_limited_per_address_known_or_not(throttled: Engine) -> None:
    for email in (KNOWN, "nobody@example.com"):
        for _ in range(2):
            assert (await request_code(throttled, email)).status_code == 202
        assert_rate_limited(await request_code(throttled, email.upper()))
    assert (await request_code(throttled, "else@example.com")).status_code == 202


async def test_failed_sign_ins_lock_an_address_even_for_the_right_code(throttled: Engine, smtp: Smtp) -> None:
    assert (await request_code(throttled, KNOWN)).status_code == 202
    code = await mailed_code(smtp, 1)
    for _ in range(3):
        assert (await sign_in(throttled, KNOWN, code="000000x")).status_code == 401
    assert_rate_limited(await sign_in(throttled, KNOWN, code=code))
    assert_rate_limited(await sign_in(throttled, KNOWN, password="a-password-of-hers"))


async def test_failed_sign_ins_from_one_client_address_are_limited_across_addresses(throttled: Engine) -> None:
    for n in range(5):
        assert (await sign_in(throttled, f"guess{n}@example.com", code="123456")).status_code == 401
    assert_rate_limited(await sign_in(throttled, KNOWN, code="123456"))
    async with throttled.http() as http:     # another client behind the trusted proxy on loopback
        r = await http.post("/api/customers/login", headers={"X-Forwarded-For": "203.0.113.9"},
                            json={"email": KNOWN, "code": "123456"})
    assert r.status_code == 401
