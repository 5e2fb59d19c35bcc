"""The SMTP side of the mail tests: a real SMTP server (aiosmtpd on loopback) and the outbox
table read with psql. Test modules import the fixture they use (``smtp_fixture`` registers
``smtp``): this folder has no conftest.py, whose module name would shadow tests/e2e/conftest.py.

The SMTP server runs in aiosmtpd's own thread; each mail it receives is handed to the trio
loop (``trio.from_thread``) and wakes whoever waits for it, so tests wait on arrival, not on
time.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
import trio
from aiosmtpd.controller import Controller
from conftest import Postgres


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        for p in self.message.walk():
            if p.get_content_type() == content_type:
                return str(p.get_content())
        raise AssertionError(f"no {content_type} part in {[p.get_content_type() for p in self.message.walk()]}")


class MailCatcher:
    """aiosmtpd handler: keeps every mail and wakes trio waiters when one arrives. A mail counts
    as arrived when its data is in, before the server answers it; ``answer_delay_s`` holds that
    answer back (a server slow to acknowledge the final dot), and while ``answers_to_lose`` is
    above 0 the server hangs up instead of answering (the client never learns the mail arrived)."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.answer_delay_s = 0.0
        self.answers_to_lose = 0
        self._token = trio.lowlevel.current_trio_token()
        self._changed = trio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        mail = Mail(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        try:
            trio.from_thread.run_sync(self._arrived, mail, trio_token=self._token)
        except trio.RunFinishedError:
            pass
        await asyncio.sleep(self.answer_delay_s)
        if self.answers_to_lose > 0:
            self.answers_to_lose -= 1
            server.transport.abort()
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # aiosmtpd hook
                          rcpt_options: list[str]) -> str:
        if address.startswith("bounce@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _arrived(self, mail: Mail) -> None:
        self.mails.append(mail)
        self._changed.set()
        self._changed = trio.Event()

    def message_ids(self) -> list[str]:
        return [str(m.message["Message-ID"]) for m in self.mails]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Mail]:
        with trio.fail_after(timeout):
            while len(self.mails) < count:
                await self._changed.wait()
        return self.mails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Smtp:
    port: int
    catcher: MailCatcher
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        # a plain asyncio loop of its own: the engine's trio-asyncio policy refuses to make one here
        self.controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port,
                                     loop=asyncio.SelectorEventLoop())
        await trio.to_thread.run_sync(self.controller.start)

    async def stop(self) -> None:
        if self.controller is not None:
            await trio.to_thread.run_sync(self.controller.stop)
            self.controller = None


@pytest.fixture(name="smtp")
async def smtp_fixture() -> AsyncIterator[Smtp]:
    """A port for an SMTP server that is *not* started yet (tests start it when they want it)."""
    server = Smtp(free_port(), MailCatcher())
    try:
        yield server
    finally:
        await server.stop()


def sql_on(database_url: str, sql: str) -> str:
    """psql input that runs ``sql`` on the test's database and prints bare values."""
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    return f"\\set QUIET on\n\\c {name[1]}\n\\pset tuples_only on\n\\pset format unaligned\n{sql}\n"


async def outbox(postgres: Postgres, database_url: str) -> list[dict[str, Any]]:
    out = await trio.to_thread.run_sync(postgres.psql, sql_on(
        database_url, "SELECT coalesce(json_agg(o ORDER BY created_at), '[]') FROM outbox o;"))
    return list(json.loads(out))


async def outbox_until(postgres: Postgres, database_url: str, ok: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll the outbox (there is no event for a row changing) until ``ok(rows)``; bounded."""
    with trio.fail_after(timeout):
        while True:
            rows = await outbox(postgres, database_url)
            if ok(rows):
                return rows
            await trio.sleep(0.1)
