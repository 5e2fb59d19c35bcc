"""What the customers' tests share: an SMS gateway (a real HTTP server on loopback, trio and h11),
SMTP from the mail tests (``mail/smtpkit.py``), and the clients' calls. Test modules import the
fixtures they use (``smtp_fixture``, ``gateway_fixture``); this folder has no conftest.py, whose
module name would shadow tests/e2e/conftest.py.

The gateway answers each request with the next status of ``statuses`` (200 once they are used
up) and wakes whoever waits for a request, so tests wait on arrival, not on time.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import h11
import httpx
import orjson
import pytest
import trio
from conftest import Engine, Postgres
from mail.smtpkit import Smtp, sql_on
from mail.smtpkit import smtp_fixture as smtp_fixture

CODE = re.compile(r"\b(\d{6,8})\b")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, f"no code in {text!r}"
    return found[1]


@dataclass
class Request:
    body: dict[str, Any]
    headers: dict[str, str]
    status: int         # what the gateway answered


@dataclass
class SmsGateway:
    """An HTTP endpoint that takes ``POST {"to", "text"}`` as an SMS gateway would."""

    statuses: deque[int] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _changed: trio.Event = field(default_factory=trio.Event)

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The SMS the gateway took (answered 2xx)."""
        return [r.body for r in self.requests if r.status < 300]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        """At least ``count`` requests (taken or not)."""
        with trio.fail_after(timeout):
            while len(self.requests) < count:
                await self._changed.wait()
        return self.requests

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/sms"
        task_status.started(self.url)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        async with stream:
            conn = h11.Connection(h11.SERVER)
            request: h11.Request | None = None
            body = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
            if request is None:
                return
            status = self.statuses.popleft() if self.statuses else 200
            self.requests.append(Request(orjson.loads(body), {k.decode(): v.decode() for k, v in request.headers},
                                         status))
            self._changed.set()
            self._changed = trio.Event()
            answer = b'{"ok":true}' if status < 300 else b'{"error":"try later"}'
            await stream.send_all(conn.send(h11.Response(status_code=status, headers=[
                ("Content-Type", "application/json"), ("Content-Length", str(len(answer))), ("Connection", "close")])))
            await stream.send_all(conn.send(h11.Data(data=answer)))
            await stream.send_all(conn.send(h11.EndOfMessage()))


@pytest.fixture(name="gateway")
async def gateway_fixture() -> AsyncIterator[SmsGateway]:
    gateway = SmsGateway()
    async with trio.open_nursery() as nursery:
        await nursery.start(gateway.serve)
        yield gateway
        nursery.cancel_scope.cancel()


async def supervisor_token(engine: Engine) -> str:
    return str((await engine.login("supervisor@demo.test", kind="supervisors"))["token"])


async def create_customer(engine: Engine, token: str, **fields: Any) -> dict[str, Any]:
    async with engine.http() as http:
        r = await http.post("/api/customers", headers=bearer(token), json=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def known_customer(engine: Engine, email: str, name: str = "Cora Customer", **fields: Any) -> dict[str, Any]:
    """A customer record made by a supervisor, as the business would."""
    return await create_customer(engine, await supervisor_token(engine), name=name, email=email, **fields)


async def request_code(engine: Engine, email: str) -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/customers/code", json={"email": email})


async def sign_in(engine: Engine, email: str, **secret: str) -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/customers/login", json={"email": email, **secret})


async def signed_in(engine: Engine, smtp: Smtp, email: str) -> dict[str, Any]:
    """Ask for a code, read it from its mail, sign in with it: the login's answer."""
    before = len(smtp.catcher.mails)
    assert (await request_code(engine, email)).status_code == 202
    mails = await smtp.catcher.wait_for(before + 1)
    r = await sign_in(engine, email, code=code_in(mails[before].part("text/plain")))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def psql(postgres: Postgres, database_url: str, sql: str) -> str:
    return str(await trio.to_thread.run_sync(postgres.psql, sql_on(database_url, sql))).strip()



async def psql_until(postgres: Postgres, database_url: str, sql: str, expected: str, timeout: float = 10.0) -> None:
    """Poll ``sql`` until it prints ``expected`` (a row changing sends no event); bounded."""
    with trio.fail_after(timeout):
        while True:
            if await psql(postgres, database_url, sql) == expected:
                return
            await trio.sleep(0.05)
