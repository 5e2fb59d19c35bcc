"""Limits beyond one socket against a real engine (PROTOCOL.md §13): websocket frames per token
(all of its sockets together, pings and pongs included), messages into a conversation per sender,
upload bytes per token and per conversation; nothing is sent into or uploaded for a conversation
that has ended; ``FRONTDESK_RATE_LIMIT=0`` turns every limit off."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from conftest import Client, Engine, accept_next, agent, connect, make_config, running_engine
from rawws import RawClient
from wsproto.events import AcceptConnection, Ping, Pong, TextMessage

from frontdesk.core import auth
from frontdesk.core.wire import utc_now
from frontdesk.engine.runtime.config import Limit
from frontdesk.engine.storage.db import open_database

SOCKETS = 5
PINGS_PER_SOCKET = 8        # far within one socket's burst of 40


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def limited_engine(database_url: str, data_dir: Path, **limits: Any) -> AsyncIterator[Engine]:
    """An engine with throttling on: one socket may send 20 frames/s in bursts of 40."""
    config = make_config(database_url, data_dir, rate_limit_per_s=20, rate_limit_burst=40, **limits)
    async with running_engine(config) as engine:
        yield engine


@pytest.fixture
async def limited(database_url: str, data_dir: Path) -> AsyncIterator[Engine]:
    async with limited_engine(
            database_url, data_dir, limit_frames_per_token=Limit(10, 10),
            limit_messages_per_conversation=Limit(3, 600),
            limit_upload_bytes_per_token=Limit(100_000, 3600),
            limit_upload_bytes_per_conversation=Limit(60_000, 3600)) as engine:
        yield engine


async def answers(c: Client, count: int) -> list[dict[str, Any]]:
    """The next ``count`` answers to pings: ``pong`` or ``error``."""
    return [await c.expect_one_of({"pong", "error"}) for _ in range(count)]


async def waiting_chat(engine: Engine) -> dict[str, Any]:
    """A chat waiting in its queue (an agent is online, but away)."""
    async with agent(engine, 1, presence="away"):
        return await engine.start_chat()


async def test_one_token_gets_one_rate_however_many_sockets_it_opens(limited: Engine) -> None:
    chat = await waiting_chat(limited)
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(limited, chat["customer_token"], f"tab {i}"))
                   for i in range(SOCKETS)]
        started = trio.current_time()
        for c in sockets:
            for _ in range(PINGS_PER_SOCKET):
                await c.send({"type": "ping"})
        replies = [r for c in sockets for r in await answers(c, PINGS_PER_SOCKET)]
        elapsed = trio.current_time() - started
        pongs = [r for r in replies if r["type"] == "pong"]
        refused = [r for r in replies if r["type"] == "error"]
        # the token's bucket: 10 at once, one more a second, for all five sockets together
        assert 10 <= len(pongs) <= 10 + elapsed + 1, (len(pongs), elapsed)
        assert {r["code"] for r in refused} == {"rate_limited"} and "token" in refused[0]["message"]
        # every socket stays open: the token is served again once its bucket refills
        with trio.fail_after(5):
            while True:
                await sockets[-1].send({"type": "ping"})
                if (await sockets[-1].expect_one_of({"pong", "error"}))["type"] == "pong":
                    break


async def test_pings_and_pongs_of_the_websocket_protocol_count_against_the_sockets_limit(
        database_url: str, data_dir: Path) -> None:
    async with limited_engine(database_url, data_dir) as engine:
        token = (await engine.login("agent1@demo.test"))["token"]
        client = await RawClient.open(engine)
        assert isinstance(await client.handshake(), AcceptConnection)
        await client.send(TextMessage(f'{{"type": "hello", "token": "{token}"}}'))
        await client.frame("welcome")
        started = trio.current_time()
        await client.send(*[Ping(payload=b"p") if i % 2 else Pong(payload=b"p") for i in range(120)])
        with trio.fail_after(5):
            # every ping is still answered (RFC 6455); the last answer comes once all were read
            while sum(isinstance(e, Pong) for e in client.events) < 60:
                await client.next_event(Pong)
        elapsed = trio.current_time() - started
        with trio.fail_after(5):
            # the socket is served again once its bucket refills
            while not any('"pong"' in t for t in client.text):
                await client.send(TextMessage('{"type": "ping"}'))
                await client.next_event(TextMessage)
        refused = [t for t in client.text if '"rate_limited"' in t]
        # a burst of 40, then 20 a second: the others were refused
        assert len(refused) >= 120 - 40 - 20 * elapsed - 1, (len(refused), elapsed)


async def test_a_customer_flooding_its_chat_is_refused_by_send_and_its_agent_still_gets_through(
        limited: Engine) -> None:
    async with agent(limited, 1) as a1:
        chat = await limited.start_chat()
        cid = chat["conversation_id"]
        async with connect(limited, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            for n in range(3):
                await cu.send_text(None, f"line {n}")
            flood = uuid.uuid4().hex
            await cu.send({"type": "send", "client_id": flood, "text": "one too many"})
            refused = await cu.expect("error", ref=flood)
            assert refused["code"] == "rate_limited"
            # the agent's messages into the same chat have a limit of their own
            ack = await a1.send_text(cid, "I am here")
            assert (await cu.expect("message", seq=ack["seq"]))["text"] == "I am here"
        async with limited.http() as http:
            r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(a1.token))
            assert [m["text"] for m in r.json()["messages"]] == [
                "Where is my order?", "line 0", "line 1", "line 2", "I am here"]


async def account_token(database_url: str, email: str) -> str:
    """A signed-in customer's token, stored as the sign-in route stores it."""
    token, token_hash = auth.new_token()
    async with open_database(database_url) as db:
        customer_id = await db.fetchval("SELECT id FROM customers WHERE lower(email) = lower($1)", email)
        await db.execute("INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
                         "VALUES ($1, 'account', $2, $2, $3)", token_hash, customer_id, utc_now() + timedelta(hours=1))
    return token


async def test_a_chats_customer_shares_one_message_limit_whichever_of_its_tokens_it_writes_with(
        limited: Engine, database_url: str) -> None:
    async with agent(limited, 1) as a1:
        chat = await limited.start_chat(email="ada@example.com")
        cid = chat["conversation_id"]
        await accept_next(a1, cid)
        async with connect(limited, chat["customer_token"], "the chat's page") as page, \
                connect(limited, await account_token(database_url, "ada@example.com"), "signed in") as signed_in:
            await page.send_text(None, "from the page")
            await signed_in.send_text(cid, "signed in, once")
            await page.send_text(None, "from the page again")
            flood = uuid.uuid4().hex
            await signed_in.send({"type": "send", "client_id": flood, "conversation_id": cid, "text": "one too many"})
            assert (await signed_in.expect("error", ref=flood))["code"] == "rate_limited"


async def upload(engine: Engine, token: str, size: int) -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/uploads", headers=bearer(token),
                               files={"file": ("notes.txt", b"a" * size, "text/plain")})


def assert_rate_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1


async def chunked_upload(engine: Engine, token: str, size: int) -> httpx.Response | None:
    """An upload without Content-Length; None when the engine refused it before the body was through."""
    boundary = uuid.uuid4().hex

    async def body() -> AsyncIterator[bytes]:
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="n.txt"\r\n'
               f"Content-Type: text/plain\r\n\r\n").encode()
        for _ in range(size // 10_000):
            yield b"a" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    async with engine.http() as http:
        try:
            return await http.post("/api/uploads", content=body(), headers={
                **bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"})
        except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
            return None


async def test_upload_bytes_of_one_token_are_limited_and_a_refused_upload_is_not_counted(limited: Engine) -> None:
    token = (await limited.login("agent1@demo.test"))["token"]
    assert (await upload(limited, token, 60_000)).status_code == 201
    assert_rate_limited(await upload(limited, token, 60_000))       # refused by its Content-Length
    r = await chunked_upload(limited, token, 60_000)                 # refused once it passes the limit
    if r is not None:
        assert_rate_limited(r)
    assert (await upload(limited, token, 35_000)).status_code == 201   # the refused ones took nothing
    other = (await limited.login("agent2@demo.test"))["token"]
    assert (await upload(limited, other, 60_000)).status_code == 201


async def test_upload_bytes_into_one_conversation_are_limited(limited: Engine) -> None:
    chat = await waiting_chat(limited)
    assert (await upload(limited, chat["customer_token"], 50_000)).status_code == 201
    assert_rate_limited(await upload(limited, chat["customer_token"], 20_000))    # 60,000 per conversation
    assert (await upload(limited, chat["customer_token"], 9_000)).status_code == 201


async def test_uploads_and_sends_are_refused_once_the_conversation_has_ended(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            r = await upload(engine, chat["customer_token"], 100)
            assert r.status_code == 201
            attachment = r.json()["attachment_id"]
            await cu.send({"type": "end"})
            await cu.expect("ended", conversation_id=cid)
            await a1.expect("ended", conversation_id=cid)
            r = await upload(engine, chat["customer_token"], 100)
            assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.text
            for sender, conversation_id in ((cu, None), (a1, cid)):
                client_id = uuid.uuid4().hex
                frame = {"type": "send", "client_id": client_id, "text": "after the end", "attachments": []}
                if sender is cu:
                    frame["attachments"] = [attachment]     # a file uploaded before the end is not sent either
                if conversation_id is not None:
                    frame["conversation_id"] = conversation_id
                await sender.send(frame)
                refused = await sender.expect("error", ref=client_id)
                assert (refused["code"], refused["field"]) == ("not_found", "conversation_id")
        async with engine.http() as http:
            r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(chat["customer_token"]))
            assert "after the end" not in r.text


async def test_with_rate_limit_off_no_limit_applies(database_url: str, data_dir: Path) -> None:
    config = make_config(database_url, data_dir, rate_limit_per_s=0, rate_limit_burst=0,
                         limit_frames_per_token=Limit(1, 600), limit_messages_per_conversation=Limit(1, 600),
                         limit_upload_bytes_per_token=Limit(1, 600), limit_upload_bytes_per_conversation=Limit(1, 600))
    async with running_engine(config) as engine, agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu, \
                connect(engine, chat["customer_token"], "second tab") as tab:
            await accept_next(a1, cid)
            for c in (cu, tab):
                for _ in range(50):
                    await c.send({"type": "ping"})
                assert {r["type"] for r in await answers(c, 50)} == {"pong"}
            for n in range(5):
                await cu.send_text(None, f"line {n}")
            for _ in range(2):
                assert (await upload(engine, chat["customer_token"], 5_000)).status_code == 201
