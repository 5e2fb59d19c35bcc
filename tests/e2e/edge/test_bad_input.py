"""Bad input on the websocket (PROTOCOL.md §4): oversized frames, a missing or bad hello, malformed
and forbidden frames, ids the sender may not see, the rate limit — and none of it breaks an actor.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
from conftest import Client, Engine, accept_next, agent, connect, make_config, running_engine
from trio_websocket import ConnectionClosed

from frontdesk.engine.edge import session as engine_session
from frontdesk.engine.runtime import config as engine_config


@asynccontextmanager
async def active_chat(engine: Engine, question: str = "Where is my order?") -> AsyncIterator[
        tuple[Client, Client, str]]:
    """agent1 and a customer in an accepted support chat: (agent, customer, conversation_id)."""
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(question=question)
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            await cu.expect("participant_joined", conversation_id=cid)
            yield a1, cu, cid


async def next_frame(c: Client, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame, whatever its type (read straight from the socket; nothing may be pending)."""
    with trio.fail_after(timeout):
        frame = dict(orjson.loads(await c.ws.get_message()))
    c.seen.append(frame)
    return frame


async def still_answers_ping(c: Client) -> None:
    await c.send({"type": "ping"})
    await c.expect("pong")


def send_frame(client_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "send", "client_id": client_id, **fields}


# ---- transport and hello -----------------------------------------------------------------------

async def test_frame_over_64_kib_closes_the_socket_with_1009(engine: Engine) -> None:
    async with active_chat(engine) as (_a1, cu, _cid):
        await cu.send(send_frame("big", text="x" * (64 * 1024 + 1)))
        assert await cu.closed_code() == 1009


@pytest.mark.parametrize("first", [
    pytest.param({"type": "ping"}, id="ping-before-hello"),
    pytest.param({"type": "send", "client_id": "c1", "text": "hi"}, id="send-before-hello"),
    pytest.param("this is not json", id="not-json"),
    pytest.param({"type": "hello", "token": "not-a-real-token"}, id="hello-with-bad-token"),
    pytest.param({"type": "hello", "token": ""}, id="hello-with-empty-token"),
    pytest.param({"type": "hello"}, id="hello-without-token"),
])
async def test_first_frame_that_is_not_a_good_hello_is_unauthenticated_and_closes_1008(
        engine: Engine, first: dict[str, Any] | str) -> None:
    async with connect(engine, None, hello=False) as c:
        await c.send(first)
        err = await c.expect("error")
        assert err["code"] == "unauthenticated"
        assert await c.closed_code() == 1008


async def test_a_supervisor_token_opens_a_supervisors_socket(engine: Engine) -> None:
    sup = await engine.login("supervisor@demo.test", kind="supervisors")
    async with connect(engine, None, hello=False) as c:
        await c.send({"type": "hello", "token": sup["token"]})
        welcome = await c.expect("welcome")
        assert welcome["role"] == "supervisor" and "offers" not in welcome     # PROTOCOL.md §8: never offered work


async def test_no_hello_within_the_hello_timeout_closes_1008(engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine_config.HELLO_TIMEOUT_S == 10.0  # PROTOCOL.md §4; shortened below to keep the test fast
    monkeypatch.setattr(engine_session, "HELLO_TIMEOUT_S", 0.3)
    async with connect(engine, None, hello=False) as c:
        err = await c.expect("error", timeout=3)
        assert err["code"] == "unauthenticated"
        assert await c.closed_code() == 1008


# ---- malformed and forbidden frames after hello ------------------------------------------------

LONE_SURROGATE_SEND = '{"type": "send", "client_id": "c-sur", "text": "a\\ud800b"}'

# (who sends, frame, code, field, ref); "{cid}" in a frame is replaced by the chat's conversation id
BAD_FRAMES: list[Any] = [
    pytest.param("customer", "{not json", "bad_frame", None, None, id="not-json"),
    pytest.param("customer", "[1, 2, 3]", "bad_frame", None, None, id="json-array"),
    pytest.param("customer", {"type": "dance"}, "unknown_type", "type", None, id="unknown-type"),
    pytest.param("customer", {"client_id": "c0", "text": "hi"}, "missing_field", "type", "c0", id="no-type"),
    pytest.param("customer", {"type": "send", "text": "hi"}, "missing_field", "client_id", None,
                 id="send-without-client-id"),
    pytest.param("agent", {"type": "accept"}, "missing_field", "offer_id", None, id="accept-without-offer-id"),
    pytest.param("agent", {"type": "read", "seq": 1}, "missing_field", "conversation_id", None,
                 id="read-without-conversation-id"),
    pytest.param("customer", send_frame("c-long", text="x" * 10_001), "too_long", "text", "c-long",
                 id="text-of-10001-chars"),
    pytest.param("customer", send_frame("c-nul", text="a\x00b"), "invalid_value", "text", "c-nul",
                 id="nul-in-text"),
    pytest.param("customer", LONE_SURROGATE_SEND, "invalid_value", "text", "c-sur", id="lone-surrogate-in-text"),
    pytest.param("customer", send_frame("c-att", text="files", attachments=[str(uuid.uuid4()) for _ in range(6)]),
                 "too_many_attachments", "attachments", "c-att", id="six-attachments"),
    pytest.param("agent", send_frame("c-opt", conversation_id="{cid}", text="pick",
                                     options=[{"id": "a", "label": "A"}]),
                 "invalid_value", "options", "c-opt", id="options-with-one-item"),
    pytest.param("agent", {"type": "presence", "state": "asleep"}, "invalid_value", "state", None,
                 id="presence-unknown-state"),
    pytest.param("agent", {"type": "read", "conversation_id": "{cid}", "seq": -1}, "invalid_value", "seq", None,
                 id="negative-read-seq"),
    pytest.param("customer", {"type": "presence", "state": "away"}, "forbidden", None, None,
                 id="customer-sends-presence"),
    pytest.param("customer", {"type": "accept", "offer_id": "off-1"}, "forbidden", None, "off-1",
                 id="customer-sends-accept"),
    pytest.param("customer", send_frame("c-priv", text="psst", private=True), "forbidden", "private", "c-priv",
                 id="customer-sends-private"),
    pytest.param("customer", send_frame("c-menu", text="pick", options=[{"id": "a", "label": "A"},
                                                                         {"id": "b", "label": "B"}]),
                 "forbidden", "options", "c-menu", id="customer-sends-options"),
    pytest.param("agent", {"type": "accept", "offer_id": "no-such-offer"}, "offer_expired", None, "no-such-offer",
                 id="accept-unknown-offer"),
    pytest.param("agent", {"type": "reject", "offer_id": "no-such-offer"}, "offer_expired", None, "no-such-offer",
                 id="reject-unknown-offer"),
    pytest.param("agent", {"type": "hello", "token": "again"}, "invalid_value", "type", None, id="second-hello"),
]


def fill(frame: dict[str, Any] | str, cid: str) -> dict[str, Any] | str:
    if isinstance(frame, str):
        return frame
    return {k: (cid if v == "{cid}" else v) for k, v in frame.items()}


@pytest.mark.parametrize(("who", "frame", "code", "field", "ref"), BAD_FRAMES)
async def test_bad_frame_after_hello_gets_an_error_with_code_and_ref_and_the_socket_stays_open(
        engine: Engine, who: str, frame: dict[str, Any] | str, code: str, field: str | None,
        ref: str | None) -> None:
    async with active_chat(engine) as (a1, cu, cid):
        c = a1 if who == "agent" else cu
        await c.send(fill(frame, cid))
        err = await c.expect("error")
        assert err["code"] == code, err
        assert err["ref"] == ref, err
        assert isinstance(err["message"], str) and err["message"]
        if field is not None:
            assert err.get("field") == field, err
        await still_answers_ping(c)
        # a refused send is never stored: the next message still gets the next seq
        ack = await c.send_text(cid if who == "agent" else None, "still here")
        assert ack["seq"] == 2


# ---- ids the sender may not see ----------------------------------------------------------------

FRAMES_NAMING_A_CONVERSATION = [
    pytest.param(lambda target: send_frame("c-x", conversation_id=target, text="hi"), "c-x", id="send"),
    pytest.param(lambda target: {"type": "read", "conversation_id": target, "seq": 1}, None, id="read"),
    pytest.param(lambda target: {"type": "typing", "conversation_id": target}, None, id="typing"),
    pytest.param(lambda target: {"type": "end", "conversation_id": target}, None, id="end"),
]


@pytest.mark.parametrize(("make", "ref"), FRAMES_NAMING_A_CONVERSATION)
async def test_agent_cannot_tell_someone_elses_conversation_from_a_missing_one(
        engine: Engine, make: Any, ref: str | None) -> None:
    async with active_chat(engine) as (a1, _cu, cid):
        async with agent(engine, 2) as a2:
            answers = []
            for target in (cid, str(uuid.uuid4()), "not-a-uuid"):
                await a2.send(make(target))
                err = await a2.expect("error")
                assert err["ref"] == ref
                answers.append((err["code"], err["message"], err.get("field")))
            assert answers[0][0] == "not_found"
            assert answers[0] == answers[1] == answers[2]
        # and nothing of it reached the real participant
        assert not [f for f in await a1.drain(0.2) if f["type"] in ("message", "typing", "read", "ended")]


@pytest.mark.parametrize(("make", "ref"), FRAMES_NAMING_A_CONVERSATION)
async def test_customer_naming_another_conversation_gets_not_found(engine: Engine, make: Any,
                                                                    ref: str | None) -> None:
    async with active_chat(engine) as (_a1, cu, _cid):
        other = await engine.start_chat(name="Otto Other", email="otto@example.com")
        answers = []
        for target in (other["conversation_id"], str(uuid.uuid4())):
            await cu.send(make(target))
            err = await cu.expect("error")
            assert err["ref"] == ref
            answers.append((err["code"], err["message"]))
        assert answers[0][0] == "not_found" and answers[0] == answers[1]
        await still_answers_ping(cu)


@pytest.mark.parametrize(("make", "ref"), [
    *FRAMES_NAMING_A_CONVERSATION,
    pytest.param(lambda _target: send_frame("c-y", text="hello again"), "c-y", id="send-unnamed"),
    pytest.param(lambda _target: {"type": "end", "transcript_email": True}, None, id="end-unnamed"),
])
async def test_customer_of_an_ended_conversation_gets_not_found_and_keeps_the_socket(
        engine: Engine, make: Any, ref: str | None) -> None:
    async with active_chat(engine) as (a1, cu, cid):
        await a1.send({"type": "end", "conversation_id": cid})
        await cu.expect("ended", conversation_id=cid)
    async with connect(engine, cu.token, "customer, later") as later:
        assert later.info["conversation"]["status"] == "ended"
        await later.send(make(cid))
        err = await later.expect("error")
        assert (err["code"], err.get("field"), err["ref"]) == ("not_found", "conversation_id", ref)
        await later.send({"type": "accept", "offer_id": "off-1"})    # still a customer
        assert (await later.expect("error"))["code"] == "forbidden"
        await still_answers_ping(later)


# ---- rate limit --------------------------------------------------------------------------------

@pytest.fixture
async def limited_engine(database_url: str, data_dir: Path) -> AsyncIterator[Engine]:
    async with running_engine(make_config(database_url, data_dir, rate_limit_per_s=20,
                                          rate_limit_burst=40)) as e:
        yield e


async def test_burst_over_the_rate_limit_gets_rate_limited_errors_and_the_socket_stays_open(
        limited_engine: Engine) -> None:
    async with agent(limited_engine, 1) as a1:
        for _ in range(60):
            await a1.send({"type": "ping"})
        replies = [await next_frame(a1) for _ in range(60)]
        limited = [r for r in replies if r["type"] == "error"]
        assert {r["code"] for r in limited} == {"rate_limited"}
        assert 10 <= len(limited) <= 20, len(limited)  # burst of 40, plus what refilled meanwhile
        # once the bucket refills, the same socket is served again
        with trio.fail_after(5):
            while True:
                await a1.send({"type": "ping"})
                if (await next_frame(a1))["type"] == "pong":
                    break


async def test_socket_that_stays_over_the_rate_limit_is_closed_1008(limited_engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine_config.RATE_LIMIT_CLOSE_AFTER_S == 10.0  # PROTOCOL.md §4; shortened below
    monkeypatch.setattr(engine_session, "RATE_LIMIT_CLOSE_AFTER_S", 1.0)
    async with agent(limited_engine, 1) as a1:
        async def flood() -> None:
            # 100 frames/s: five times the limit, but slow enough that every refill lets a frame through
            try:
                while True:
                    await a1.send({"type": "ping"})
                    await trio.sleep(0.01)
            except ConnectionClosed:
                pass

        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood)
            code = await a1.closed_code(timeout=6)
            nursery.cancel_scope.cancel()
        assert code == 1008
        assert trio.current_time() - started >= 1.0
        limited = [f for f in a1.seen if f["type"] == "error"]
        assert limited and {f["code"] for f in limited} == {"rate_limited"}
        assert any(f["type"] == "pong" for f in a1.seen)


# ---- nothing a client sends breaks an actor ----------------------------------------------------

GARBAGE: list[dict[str, Any] | str] = [
    "", "null", "{}", "[]", "\"hello\"", "{bad", '{"type": null}', '{"type": 7}', '{"type": "send"}',
    LONE_SURROGATE_SEND, '{"type": "send", "client_id": "g1", "text": "x", "\\u0000key": 1}',
    '{"type": "read", "conversation_id": "{cid}", "seq": 99999999999}',
    '{"type": "read", "conversation_id": "{cid}", "seq": 1.5}',
    '{"type": "hello", "token": "x", "resume": {"a": -1}}',
    "[" * 5000 + "]" * 5000,
    {"type": "send", "client_id": "", "text": "empty id"},
    {"type": "send", "client_id": "g2", "text": ""},
    {"type": "send", "client_id": "g3", "text": 5},
    {"type": "send", "client_id": "g4", "conversation_id": "{cid}", "text": "x", "attachments": "nope"},
    {"type": "send", "client_id": "g5", "conversation_id": "{cid}", "text": "x", "attachments": ["missing"]},
    {"type": "send", "client_id": "g6", "conversation_id": "{cid}", "option_id": "zzz"},
    {"type": "send", "client_id": "g7", "option_id": "zzz"},
    {"type": "send", "client_id": "g8", "conversation_id": "{cid}", "text": "x",
     "options": [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}]},
    {"type": "read", "conversation_id": "{cid}", "seq": 1000},
    {"type": "typing", "conversation_id": 12},
    {"type": "presence", "state": None},
    {"type": "accept", "offer_id": "x" * 500},
    {"type": "reject", "offer_id": str(uuid.uuid4()), "reason": "r" * 5000},
    {"type": "invite", "conversation_id": "{cid}"},
    {"type": "invite", "conversation_id": "{cid}", "agent_id": "a", "queue": "support"},
    {"type": "accept_invitation", "invitation_id": str(uuid.uuid4())},
    {"type": "decline_invitation", "invitation_id": 3},
    {"type": "leave", "conversation_id": str(uuid.uuid4())},
    {"type": "end", "conversation_id": str(uuid.uuid4())},
    {"type": "end", "conversation_id": "{cid}", "transcript_email": "yes"},
]


def fill_any(frame: dict[str, Any] | str, cid: str) -> dict[str, Any] | str:
    if isinstance(frame, str):
        return frame.replace("{cid}", cid)
    return fill(frame, cid)


async def test_garbage_from_both_sides_leaves_every_actor_working(engine: Engine) -> None:
    async with active_chat(engine) as (a1, cu, cid):
        for c in (a1, cu):
            for frame in GARBAGE:
                await c.send(fill_any(frame, cid))
            # every bad frame is refused with an error of its own, and nothing else comes of it
            for _ in GARBAGE:
                await c.expect("error")
            await still_answers_ping(c)
            assert not [f for f in await c.drain(0.2) if f["type"] in ("error", "message", "ack", "ended")]
        # the conversation, the router and both sessions still work end to end
        ack = await cu.send_text(None, "Are you still there?")
        assert ack["seq"] == 2
        assert (await a1.expect("message", seq=2))["text"] == "Are you still there?"
        reply = await a1.send_text(cid, "Yes, I am.")
        assert (await cu.expect("message", seq=reply["seq"]))["text"] == "Yes, I am."
        second = await engine.start_chat(name="Second Customer", email="second@example.com")
        await accept_next(a1, second["conversation_id"])
        await cu.send({"type": "end"})
        assert (await a1.expect("ended", conversation_id=cid))["by"] == "customer"
