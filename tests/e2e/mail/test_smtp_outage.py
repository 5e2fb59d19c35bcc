"""An SMTP outage under light load: the real engine and a real SMTP server (aiosmtpd, smtpkit.py).

Chats end with a transcript mail and offline requests get their confirmation, a few at a time and
concurrently, while a long chat goes on; the SMTP server stops, more mails are made, and it comes
back on the same port. Every mail must arrive exactly once (by recipient and by Message-ID, which
names its outbox row), and every chat must have gone on meanwhile: offered, accepted, its messages
acked and delivered, ended.

The Mailer's back-off is shortened (module constants), so that retries come within a fraction of
a second and the outage lasts more attempts than any mail could spend; the test waits for
arrivals, outbox rows and frames, never for a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import trio
from conftest import Client, Engine, Postgres, agent, connect, make_config, running_engine
from smtpkit import Mail, Smtp, outbox_until, smtp_fixture  # noqa: F401  (fixture)

from frontdesk.engine.mail import mailer as mailer_module
from frontdesk.engine.mail.mailer import message_id

CHATS_PER_ROUND = 3
OFFLINE_PER_ROUND = 2
LINES = 3
# more tries than the Mailer once gave a mail before it gave up (25): only the time since it was
# queued counts (five days), so an outage loses nothing however often it was tried
ATTEMPTS_WHILE_DOWN = 30


class Desk:
    """The agents' side of the test: accepts every offer and records what reaches each
    conversation. One reader per agent socket, so that chats running at once never share one."""

    def __init__(self) -> None:
        self.owner: dict[str, Client] = {}
        self.lines: defaultdict[str, list[str]] = defaultdict(list)
        self.ended: set[str] = set()
        self._changed = trio.Event()

    async def serve(self, a: Client) -> None:
        while True:
            frame = orjson.loads(await a.ws.get_message())
            kind, cid = frame["type"], frame.get("conversation_id", "")
            if kind == "offer":
                await a.send({"type": "accept", "offer_id": frame["offer_id"]})
            elif kind == "conversation":
                self.owner[cid] = a
            elif kind == "message" and frame["sender"]["kind"] == "customer":
                self.lines[cid].append(frame["text"])
            elif kind == "ended":
                self.ended.add(cid)
            self._changed.set()
            self._changed = trio.Event()

    async def until(self, ok: Callable[[], bool], timeout: float = 10.0) -> None:
        with trio.fail_after(timeout):
            while not ok():
                await self._changed.wait()


class Workload:
    """Mails made by what customers do; each goes to an address of its own, so every mail that
    arrives names what made it."""

    def __init__(self, engine: Engine, desk: Desk):
        self.engine = engine
        self.desk = desk
        self.expected: dict[str, str] = {}      # recipient -> a text its mail must hold

    async def chat(self, customer: Client, cid: str, lines: list[str]) -> None:
        """The customer's lines, each acked and delivered to the agent who accepted the chat."""
        await self.desk.until(lambda: cid in self.desk.owner)
        for line in lines:
            await customer.send_text(None, line)
        await self.desk.until(lambda: set(lines) <= set(self.desk.lines[cid]))

    async def transcript_chat(self, label: str) -> None:
        """A chat that ends with a transcript mail."""
        email = f"chat-{label}@example.com"
        chat = await self.engine.start_chat(email=email, question=f"question of {label}")
        cid = chat["conversation_id"]
        async with connect(self.engine, chat["customer_token"], label) as customer:
            await self.chat(customer, cid, [f"{label}, line {n}" for n in range(LINES)])
            self.expected[email] = f"{label}, line {LINES - 1}"
            await end_with_transcript(customer, cid)
        await self.desk.until(lambda: cid in self.desk.ended)

    async def offline_request(self, label: str) -> None:
        email = f"offline-{label}@example.com"
        async with self.engine.http() as http:
            r = await http.post("/api/offline-requests", json={
                "queue": "support", "name": "Olga Offline", "email": email, "question": f"call {label} back"})
        assert r.status_code == 201, r.text
        self.expected[email] = r.json()["request_number"]

    async def round(self, name: str) -> None:
        """A few chats and offline requests at once."""
        async with trio.open_nursery() as nursery:
            for n in range(CHATS_PER_ROUND):
                nursery.start_soon(self.transcript_chat, f"{name}-{n}")
            for n in range(OFFLINE_PER_ROUND):
                nursery.start_soon(self.offline_request, f"{name}-{n}")


async def end_with_transcript(customer: Client, cid: str) -> None:
    await customer.send({"type": "end", "transcript_email": True})
    await customer.expect("ended", conversation_id=cid)


def by_recipient(mails: list[Mail]) -> dict[str, list[Mail]]:
    out: defaultdict[str, list[Mail]] = defaultdict(list)
    for mail in mails:
        (recipient,) = mail.rcpt_tos
        out[recipient].append(mail)
    return out


async def test_every_mail_arrives_exactly_once_across_an_smtp_outage_and_chats_go_on(
        postgres: Postgres, database_url: str, data_dir: Path, smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    # in production the back-off runs from 0.5 s to 5 min; here from 10 to 50 ms
    monkeypatch.setattr(mailer_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(mailer_module, "RETRY_MAX_S", 0.05)
    await smtp.start()
    config = make_config(database_url, data_dir, smtp_url=smtp.url)
    async with running_engine(config) as engine, agent(engine, 1) as a1, agent(engine, 2) as a2, \
            agent(engine, 3) as a3, trio.open_nursery() as agents:
        desk = Desk()
        for a in (a1, a2, a3):
            agents.start_soon(desk.serve, a)
        work = Workload(engine, desk)
        long_chat = await engine.start_chat(email="long@example.com", question="a long story")
        long_cid = long_chat["conversation_id"]
        async with connect(engine, long_chat["customer_token"], "long chat") as long_customer:
            # SMTP up: every mail arrives
            await work.chat(long_customer, long_cid, ["long, before the outage"])
            await work.round("up")
            sent_before = len(work.expected)
            await smtp.catcher.wait_for(sent_before)
            await outbox_until(postgres, database_url,
                               lambda rows: len(rows) == sent_before and all(r["status"] == "sent" for r in rows))

            # SMTP down: nothing is lost, every chat goes on
            await smtp.stop()
            await work.round("down")
            await work.chat(long_customer, long_cid, ["long, during the outage"])
            made_while_down = set(work.expected) - {m.rcpt_tos[0] for m in smtp.catcher.mails}
            assert len(made_while_down) == CHATS_PER_ROUND + OFFLINE_PER_ROUND
            # each is stored, was tried again and again and waits for another try
            rows = await outbox_until(postgres, database_url, lambda rows: len(rows) == len(work.expected) and all(
                r["attempts"] >= ATTEMPTS_WHILE_DOWN and r["status"] == "queued" and r["last_error"]
                for r in rows if r["recipient"] in made_while_down))
            assert len(smtp.catcher.mails) == sent_before

            # SMTP back on the same port: what waited goes out, and new mails too
            await smtp.start()
            work.expected["long@example.com"] = "long, during the outage"
            await end_with_transcript(long_customer, long_cid)
        await work.round("back")
        await smtp.catcher.wait_for(len(work.expected), timeout=20)
        rows = await outbox_until(postgres, database_url, lambda rows: len(rows) == len(work.expected) and all(
            r["status"] == "sent" for r in rows))
        agents.cancel_scope.cancel()

    # exactly once: one mail per outbox row, by recipient and by Message-ID; every row sent
    mails = smtp.catcher.mails
    assert len(mails) == len(rows) == len(work.expected)
    received = by_recipient(mails)
    assert {recipient: len(got) for recipient, got in received.items()} == {r: 1 for r in work.expected}
    assert sorted(smtp.catcher.message_ids()) == sorted(message_id(r["id"]) for r in rows)
    for recipient, must_hold in work.expected.items():
        assert must_hold in received[recipient][0].part("text/plain"), recipient
    # the long chat's transcript holds what was said before, during and after the outage
    long_text = received["long@example.com"][0].part("text/plain")
    assert "long, before the outage" in long_text and "long, during the outage" in long_text
    assert all(row["sent_at"] for row in rows)
