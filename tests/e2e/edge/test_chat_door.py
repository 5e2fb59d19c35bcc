"""``POST /api/chats`` on the listener's lean path (engine/edge/chat_door.py): the same answers
as Quart's route, keep-alive and pipelining, a hand-over to hypercorn for any other request on the
same connection, chunked bodies, 100-continue, 413 and malformed requests. Driven over raw TCP so
each test controls every byte and which path a request takes (a connection whose first request
is anything else than a chat stays with hypercorn and Quart). Which request line is a chat:
tests/unit/engine/edge/test_chat_door_request_line.py."""

from __future__ import annotations

import hashlib
import hmac
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import trio
from conftest import Engine, agent, make_config, running_engine

from frontdesk.engine.edge import chat_door
from frontdesk.engine.runtime.config import MAX_JSON_BODY_BYTES
from frontdesk.engine.runtime.faults import Faults

FORM = {"queue": "support", "name": "Cora Customer", "email": "cora@example.com", "question": "Where is my order?"}
IDENTITY_SECRET = b"demo-identity-secret"     # the support queue's, in the demo data


def post(body: bytes, *, extra: bytes = b"", target: bytes = b"/api/chats") -> bytes:
    return (b"POST " + target + b" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


GET_QUEUE = b"GET /api/queues/support HTTP/1.1\r\nHost: localhost\r\n\r\n"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"


class Raw:
    """One TCP connection to the engine, with a small HTTP/1.1 response reader."""

    def __init__(self, stream: trio.SocketStream):
        self.stream = stream
        self.buffer = b""

    @classmethod
    async def open(cls, engine: Engine) -> Raw:
        url = urlsplit(engine.base)
        return cls(await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80))

    async def _more(self) -> bool:
        data = await self.stream.receive_some(65536)
        self.buffer += data
        return bool(data)

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response (status, headers, body); its body has a content-length."""
        with trio.fail_after(10):
            while b"\r\n\r\n" not in self.buffer:
                assert await self._more(), "closed before a response"
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            while len(self.buffer) < length:
                assert await self._more(), "closed in a body"
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    async def closed(self) -> bool:
        with trio.fail_after(10):
            while await self._more():
                pass
        return True


async def test_chats_then_another_request_on_one_keep_alive_connection(engine: Engine) -> None:
    async with agent(engine, 1):
        raw = await Raw.open(engine)
        ids = []
        for _ in range(2):
            await raw.stream.send_all(post(orjson.dumps(FORM)))
            status, headers, body = await raw.response()
            assert status == 201 and headers["content-type"] == "application/json"
            sent_at = parsedate_to_datetime(headers["date"]).timestamp()     # a real, current HTTP date
            assert abs(sent_at - time.time()) < 5
            reply = orjson.loads(body)
            assert reply["status"] == "queued" and reply["customer_token"]
            ids.append(reply["conversation_id"])
        assert len(set(ids)) == 2
        await raw.stream.send_all(GET_QUEUE)          # not a chat: handed over to hypercorn and Quart
        status, _, body = await raw.response()
        assert status == 200 and orjson.loads(body)["queue"] == "support"
        await raw.stream.send_all(post(orjson.dumps(FORM)))   # and hypercorn serves chats after that
        status, _, body = await raw.response()
        assert status == 201 and orjson.loads(body)["conversation_id"] not in ids


async def test_pipelined_chats_are_answered_in_order(engine: Engine) -> None:
    async with agent(engine, 1):
        raw = await Raw.open(engine)
        names = [f"Pipelined {i}" for i in range(3)]
        await raw.stream.send_all(b"".join(post(orjson.dumps({**FORM, "name": n})) for n in names) + HEALTHZ)
        tokens = set()
        for _ in names:
            status, _, body = await raw.response()
            assert status == 201
            tokens.add(orjson.loads(body)["customer_token"])
        assert len(tokens) == 3
        status, _, body = await raw.response()
        assert status == 200 and orjson.loads(body)["status"] == "ok"


async def test_a_request_head_in_pieces_and_a_chunked_body(engine: Engine) -> None:
    async with agent(engine, 1):
        raw = await Raw.open(engine)
        body = orjson.dumps(FORM)
        request = (b"POST /api/chats HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n")
        for i in range(0, len(request), 9):
            await raw.stream.send_all(request[i:i + 9])
        status, _, reply = await raw.response()
        assert status == 201 and orjson.loads(reply)["status"] == "queued"


async def test_expect_100_continue_gets_its_interim_answer(engine: Engine) -> None:
    async with agent(engine, 1):
        raw = await Raw.open(engine)
        body = orjson.dumps(FORM)
        head = post(body, extra=b"Expect: 100-continue\r\n")[:-len(body)]
        await raw.stream.send_all(head)
        status, _, _ = await raw.response()
        assert status == 100
        await raw.stream.send_all(body)
        status, _, reply = await raw.response()
        assert status == 201 and orjson.loads(reply)["status"] == "queued"


async def test_a_body_over_the_limit_is_refused_at_once_and_the_connection_closed(engine: Engine) -> None:
    raw = await Raw.open(engine)
    await raw.stream.send_all(b"POST /api/chats HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
                              + str(MAX_JSON_BODY_BYTES + 1).encode() + b"\r\n\r\n{")
    status, headers, body = await raw.response()
    assert status == 413 and orjson.loads(body)["error"]["code"] == "too_large"
    assert headers["connection"] == "close" and await raw.closed()


async def test_a_chunked_body_growing_over_the_limit_is_refused(engine: Engine) -> None:
    raw = await Raw.open(engine)
    chunk = b"x" * 65536
    await raw.stream.send_all(b"POST /api/chats HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
    with trio.move_on_after(10):
        for _ in range(MAX_JSON_BODY_BYTES // len(chunk) + 1):
            await raw.stream.send_all(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    status, _, body = await raw.response()
    assert status == 413 and orjson.loads(body)["error"]["code"] == "too_large"


async def test_a_malformed_request_gets_400_and_a_close(engine: Engine) -> None:
    raw = await Raw.open(engine)
    await raw.stream.send_all(b"POST /api/chats HTTP/1.1\r\nHost: localhost\r\nContent-Length: many\r\n\r\n")
    status, _, body = await raw.response()
    assert status == 400 and orjson.loads(body)["error"]["code"] == "bad_request"
    assert await raw.closed()


BAD_FORMS: list[Any] = [
    b"{not json",
    b"[1, 2]",
    {**FORM, "email": "not-an-address"},
    {k: v for k, v in FORM.items() if k != "question"},
    {**FORM, "queue": "no-such-queue"},
    {**FORM, "name": 42},
    {**FORM, "question": "x" * 10_001},
]


@pytest.mark.parametrize("form", BAD_FORMS)
async def test_the_chat_path_answers_bad_forms_exactly_as_quart_does(engine: Engine, form: Any) -> None:
    body = form if isinstance(form, bytes) else orjson.dumps(form)
    door = await Raw.open(engine)
    await door.stream.send_all(post(body))
    via_door = await door.response()
    quart = await Raw.open(engine)
    await quart.stream.send_all(HEALTHZ)          # a first request that is not a chat: hypercorn keeps it
    await quart.response()
    await quart.stream.send_all(post(body))
    via_quart = await quart.response()
    assert via_door[0] == via_quart[0] and via_door[0] in (400, 404, 422)
    assert orjson.loads(via_door[2]) == orjson.loads(via_quart[2])
    assert "field" in orjson.loads(via_door[2])["error"] or via_door[0] == 400


async def test_closed_queue_is_answered_alike_on_both_paths(engine: Engine) -> None:
    """With nobody online, the chat is refused as ``closed`` with 200, the same on both paths."""
    door = await Raw.open(engine)
    await door.stream.send_all(post(orjson.dumps(FORM)))
    status, _, body = await door.response()
    quart = await Raw.open(engine)
    await quart.stream.send_all(HEALTHZ)
    await quart.response()
    await quart.stream.send_all(post(orjson.dumps(FORM)))
    quart_status, _, quart_body = await quart.response()
    assert status == quart_status == 200
    assert orjson.loads(body) == orjson.loads(quart_body)
    assert orjson.loads(body)["reason"] == "no_agents"


async def test_an_idle_keep_alive_connection_is_closed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_door, "KEEP_ALIVE_S", 0.2)
    async with agent(engine, 1):
        raw = await Raw.open(engine)
        await raw.stream.send_all(post(orjson.dumps(FORM)))
        assert (await raw.response())[0] == 201
        assert await raw.closed()       # nothing more was sent: the server closes the connection


def signed(email: str) -> str:
    return hmac.new(IDENTITY_SECRET, email.encode(), hashlib.sha256).hexdigest()


HEADER_INJECTION = "a@example.com\r\nBcc: x@evil.test"
GOOD_IDENTITY = {"email": "vip@example.com", "name": "Vera Vip", "hmac": signed("vip@example.com")}

# (identity, code, field): each would reach a mail header or the HMAC check unchecked
BAD_IDENTITIES: list[Any] = [
    pytest.param({"email": HEADER_INJECTION, "hmac": signed(HEADER_INJECTION)}, "invalid_email", "identity.email",
                 id="email-with-crlf-and-a-valid-hmac"),
    pytest.param({**GOOD_IDENTITY, "email": "Vera <vip@example.com>"}, "invalid_email", "identity.email",
                 id="email-with-a-display-name"),
    pytest.param({**GOOD_IDENTITY, "email": "vip@example.com, x@evil.test"}, "invalid_email", "identity.email",
                 id="two-addresses"),
    pytest.param({**GOOD_IDENTITY, "name": "Vera\r\nBcc: x@evil.test"}, "invalid_value", "identity.name",
                 id="name-with-crlf"),
    pytest.param({**GOOD_IDENTITY, "name": "Vera\x1b[31m"}, "invalid_value", "identity.name",
                 id="name-with-escape"),
    pytest.param({**GOOD_IDENTITY, "name": "Vera\u2028Vip"}, "invalid_value", "identity.name",
                 id="name-with-line-separator"),
    pytest.param({**GOOD_IDENTITY, "hmac": "ä" * 64}, "invalid_value", "identity.hmac", id="non-ascii-hmac"),
    pytest.param({**GOOD_IDENTITY, "hmac": "g" * 64}, "invalid_value", "identity.hmac", id="non-hex-hmac"),
    pytest.param({**GOOD_IDENTITY, "hmac": "0" * 129}, "invalid_value", "identity.hmac", id="hmac-of-129-digits"),
    pytest.param({**GOOD_IDENTITY, "hmac": 1234}, "invalid_value", "identity.hmac", id="number-hmac"),
    pytest.param({**GOOD_IDENTITY, "hmac": [signed("vip@example.com")]}, "invalid_value", "identity.hmac",
                 id="list-hmac"),
]


@pytest.mark.parametrize(("identity", "code", "field"), BAD_IDENTITIES)
async def test_a_bad_identity_is_refused_alike_on_both_paths(engine: Engine, identity: dict[str, Any], code: str,
                                                              field: str) -> None:
    body = orjson.dumps({**FORM, "identity": identity})
    async with agent(engine, 1):     # an open queue: before validation, these chats were queued
        door = await Raw.open(engine)
        await door.stream.send_all(post(body))
        via_door = await door.response()
        quart = await Raw.open(engine)
        await quart.stream.send_all(HEALTHZ)
        await quart.response()
        await quart.stream.send_all(post(body))
        via_quart = await quart.response()
        for status, _, reply in (via_door, via_quart):
            assert status == 422, reply
            error = orjson.loads(reply)["error"]
            assert (error["code"], error["field"]) == (code, field)
        assert orjson.loads(via_door[2]) == orjson.loads(via_quart[2])
        await door.stream.send_all(post(orjson.dumps({**FORM, "identity": GOOD_IDENTITY})))
        status, _, reply = await door.response()     # the connection serves the next chat
        assert status == 201, reply


def assert_private(status: int, headers: dict[str, str]) -> None:
    assert headers["cache-control"] == "no-store", (status, headers)
    assert headers["x-content-type-options"] == "nosniff", (status, headers)


@pytest.mark.parametrize("form", [FORM, {**FORM, "email": "not-an-address"}])
async def test_both_paths_forbid_caching_the_answer(engine: Engine, form: dict[str, str]) -> None:
    async with agent(engine, 1):
        door = await Raw.open(engine)
        await door.stream.send_all(post(orjson.dumps(form)))
        via_door = await door.response()
        quart = await Raw.open(engine)
        await quart.stream.send_all(HEALTHZ)      # a first request that is not a chat: hypercorn keeps it
        await quart.response()
        await quart.stream.send_all(post(orjson.dumps(form)))
        via_quart = await quart.response()
    assert via_door[0] == via_quart[0] and via_door[0] in (201, 422)
    assert_private(*via_door[:2])
    assert_private(*via_quart[:2])


async def test_the_chat_doors_refusals_forbid_caching(engine: Engine) -> None:
    raw = await Raw.open(engine)
    await raw.stream.send_all(b"POST /api/chats HTTP/1.1\r\nHost: localhost\r\nContent-Length: many\r\n\r\n")
    status, headers, _ = await raw.response()
    assert status == 400
    assert_private(status, headers)


async def test_a_bug_in_a_chat_request_is_a_500_of_the_api_shape_and_the_connection_serves_on(
        database_url: str, data_dir: Any) -> None:
    faults = Faults()
    faults.arm("chat_door", lambda body: b"trips the bug" in body)
    async with running_engine(make_config(database_url, data_dir, faults=faults)) as engine, agent(engine, 1):
        raw = await Raw.open(engine)
        await raw.stream.send_all(post(orjson.dumps({**FORM, "question": "this trips the bug"})))
        status, headers, body = await raw.response()
        assert status == 500 and headers["content-type"] == "application/json"
        assert orjson.loads(body)["error"]["code"] == "internal"
        await raw.stream.send_all(post(orjson.dumps(FORM)))     # the same connection, the next chat
        status, _, body = await raw.response()
        assert status == 201 and orjson.loads(body)["status"] == "queued"
    assert faults.raised == 1
