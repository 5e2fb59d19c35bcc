"""Activation by the business (PROTOCOL.md §6, §14) on a real engine, SMTP server and SMS gateway:
the activation mail with its link, the code by SMS (or in the mail), the first sign-in that must
set a password, and the SMS outbox's retries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from accountkit import (  # noqa: F401  (fixtures)
    SmsGateway,
    bearer,
    code_in,
    create_customer,
    gateway_fixture,
    psql,
    psql_until,
    sign_in,
    signed_in,
    smtp_fixture,
    supervisor_token,
)
from conftest import Engine, Postgres, connect, make_config, running_engine
from mail.smtpkit import Smtp

from tests.qr_reading import read_qr

PUBLIC = "https://help.example.com"
MOBILE = "+4915112345678"


@pytest.fixture
async def engine(database_url: str, data_dir: Path, smtp: Smtp, gateway: SmsGateway) -> AsyncIterator[Engine]:
    await smtp.start()
    config = make_config(database_url, data_dir, smtp_url=smtp.url, sms_url=gateway.url, public_url=PUBLIC)
    async with running_engine(config) as e:
        yield e


async def activate(engine: Engine, token: str, customer_id: str) -> dict[str, str]:
    async with engine.http() as http:
        r = await http.post(f"/api/customers/{customer_id}/activate", headers=bearer(token))
    assert r.status_code == 202, r.text
    return dict(r.json())


async def test_activation_sends_the_code_by_sms_and_the_link_by_mail(
        engine: Engine, smtp: Smtp, gateway: SmsGateway, postgres: Postgres, database_url: str) -> None:
    token = await supervisor_token(engine)
    cora = await create_customer(engine, token, name="Cora Customer", email="cora@example.com", mobile=MOBILE)
    assert cora["activated_at"] is None
    link = f"{PUBLIC}/account?lang=en#email=cora@example.com"       # the account page, in the mail's language
    assert await activate(engine, token, cora["id"]) == {"status": "queued", "code_sent_by": "sms",
                                                          "signin_link": link}
    (sms,) = await gateway.wait_for(1)
    assert sms.body["to"] == MOBILE and set(sms.body) == {"to", "text"}
    assert sms.headers["content-type"] == "application/json"
    code = code_in(sms.body["text"])
    assert len(code) >= 6
    (mail,) = await smtp.catcher.wait_for(1)
    assert mail.rcpt_tos == ["cora@example.com"]
    text, page = mail.part("text/plain"), mail.part("text/html")
    assert link in text and f'href="{link}"' in page
    (qr,) = [p for p in mail.message.walk() if p.get_content_type() == "image/png"]   # setup by phone
    assert f'src="cid:{qr["Content-ID"].strip("<>")}"' in page
    assert read_qr(qr.get_content()) == [link]
    assert "Scan this QR code" in text and "Scan this QR code" in page
    assert code not in text and code not in page                # the code went by SMS alone
    await psql_until(postgres, database_url, "SELECT status FROM sms_outbox", "sent")

    first = await sign_in(engine, "cora@example.com", code=code)
    assert first.status_code == 200, first.text
    assert first.json()["password_change_required"] is True
    assert first.json()["customer"]["activated_at"] is not None
    restricted = first.json()["token"]
    async with connect(engine, restricted, "restricted", hello=False) as ws:    # not on the websocket either
        await ws.send({"type": "hello", "token": restricted})
        assert (await ws.expect("error"))["code"] == "unauthenticated"
        assert await ws.closed_code() == 1008
    async with engine.http() as http:
        for path in ("/api/customers/me", "/api/customers/me/conversations"):
            r = await http.get(path, headers=bearer(restricted))
            assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
        r = await http.get("/api/agents", headers=bearer(restricted))
        assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
        r = await http.post("/api/customers/password", headers=bearer(restricted), json={"password": "short"})
        assert r.status_code == 422
        r = await http.post("/api/customers/password", headers=bearer(restricted),
                            json={"password": "Cora's new password"})
        assert r.status_code == 204
        me = await http.get("/api/customers/me", headers=bearer(restricted))     # the same token, free now
        assert me.status_code == 200 and me.json()["id"] == cora["id"]
    again = await sign_in(engine, "cora@example.com", password="Cora's new password")
    assert again.status_code == 200 and again.json()["password_change_required"] is False
    assert (await sign_in(engine, "cora@example.com", code=code)).status_code == 401    # spent


async def test_without_a_mobile_the_code_is_in_the_mail_in_the_customers_language(
        engine: Engine, smtp: Smtp, gateway: SmsGateway) -> None:
    token = await supervisor_token(engine)
    dora = await create_customer(engine, token, name="Dora Deutsch", email="dora@example.com", language="de")
    assert await activate(engine, token, dora["id"]) == {
        "status": "queued", "code_sent_by": "email", "signin_link": f"{PUBLIC}/account?lang=de#email=dora@example.com"}
    (mail,) = await smtp.catcher.wait_for(1)
    assert mail.message["Subject"] == "Ihr Kundenkonto ist freigeschaltet"
    text = mail.part("text/plain")
    assert text.startswith("Hallo Dora Deutsch,") and "Aktivierungscode:" in text and "3 Tage gültig" in text
    assert "Scannen Sie diesen QR-Code" in text
    r = await sign_in(engine, "dora@example.com", code=code_in(text))
    assert r.status_code == 200 and r.json()["password_change_required"] is True
    assert gateway.requests == []


async def test_every_sign_in_after_activation_must_set_a_password_first(engine: Engine, smtp: Smtp) -> None:
    token = await supervisor_token(engine)
    cora = await create_customer(engine, token, name="Cora", email="cora@example.com")
    await activate(engine, token, cora["id"])
    await smtp.catcher.wait_for(1)
    # a sign-in code asked for after the activation voids the activation code, not the obligation
    answer = await signed_in(engine, smtp, "cora@example.com")
    assert answer["password_change_required"] is True


async def test_only_supervisors_activate_and_an_unknown_customer_is_404(engine: Engine) -> None:
    token = await supervisor_token(engine)
    cora = await create_customer(engine, token, name="Cora", email="cora@example.com")
    agent = (await engine.login("agent1@demo.test"))["token"]
    async with engine.http() as http:
        r = await http.post(f"/api/customers/{cora['id']}/activate", headers=bearer(agent))
        assert r.status_code == 403
        for unknown in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
            r = await http.post(f"/api/customers/{unknown}/activate", headers=bearer(token))
            assert r.status_code == 404


async def test_an_sms_the_gateway_refuses_once_is_sent_again_and_never_twice(
        engine: Engine, gateway: SmsGateway, postgres: Postgres, database_url: str) -> None:
    token = await supervisor_token(engine)
    gateway.statuses.append(503)
    cora = await create_customer(engine, token, name="Cora", email="cora@example.com", mobile=MOBILE)
    await activate(engine, token, cora["id"])
    failed, delivered = await gateway.wait_for(2)
    assert (failed.status, delivered.status) == (503, 200)
    assert failed.body == delivered.body
    assert failed.headers["idempotency-key"] == delivered.headers["idempotency-key"]
    await psql_until(postgres, database_url, "SELECT status || ' ' || attempts FROM sms_outbox", "sent 2")
    # the next SMS is sent after it; the first is not sent again meanwhile
    otto = await create_customer(engine, token, name="Otto", email="otto@example.com", mobile="+4915199999999")
    await activate(engine, token, otto["id"])
    await gateway.wait_for(3)
    assert [r.body["to"] for r in gateway.requests] == [MOBILE, MOBILE, "+4915199999999"]
    assert [r.body["to"] for r in gateway.requests if r.status == 200].count(MOBILE) == 1


async def test_an_sms_the_gateway_refuses_for_good_is_failed_and_not_retried(
        engine: Engine, gateway: SmsGateway, postgres: Postgres, database_url: str) -> None:
    token = await supervisor_token(engine)
    gateway.statuses.append(400)
    cora = await create_customer(engine, token, name="Cora", email="cora@example.com", mobile=MOBILE)
    await activate(engine, token, cora["id"])
    await psql_until(postgres, database_url, "SELECT status || ' ' || attempts FROM sms_outbox", "failed 1")
    otto = await create_customer(engine, token, name="Otto", email="otto@example.com", mobile="+4915199999999")
    await activate(engine, token, otto["id"])
    await gateway.wait_for(2)
    assert [(r.body["to"], r.status) for r in gateway.requests] == [(MOBILE, 400), ("+4915199999999", 200)]


async def test_without_a_gateway_sms_stay_queued(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp, caplog: pytest.LogCaptureFixture) -> None:
    await smtp.start()
    caplog.set_level(logging.INFO, logger="frontdesk.engine.mail")
    async with running_engine(make_config(database_url, data_dir, smtp_url=smtp.url)) as engine:
        token = await supervisor_token(engine)
        cora = await create_customer(engine, token, name="Cora", email="cora@example.com", mobile=MOBILE)
        await activate(engine, token, cora["id"])
        (mail,) = await smtp.catcher.wait_for(1)
        # without FRONTDESK_PUBLIC_URL the link starts with the address the engine is configured to bind
        assert f"http://127.0.0.1:{engine.config.port}/account?lang=en#" in mail.part("text/plain")
        await psql_until(postgres, database_url, "SELECT status || ' ' || attempts FROM sms_outbox", "queued 1")
    logged = [r.getMessage() for r in caplog.records if "SMS" in r.getMessage() and "queued" in r.getMessage()]
    assert logged and not any(code_in_text(m) for m in logged)     # the log never shows a code


def code_in_text(message: str) -> bool:
    return any(word.isdigit() and len(word) >= 6 for word in message.replace("(", " ").split())
