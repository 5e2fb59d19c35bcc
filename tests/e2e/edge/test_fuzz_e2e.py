"""End-to-end fuzzing of the edge (PROTOCOL.md §3 and §4): hypothesis draws hostile bodies, queries,
headers and frames (tests/fuzzing.py; the parsers alone: tests/unit/.../test_*_fuzz.py) and sends
each to a running engine as any client could.

Every answer is a success of the route's shape or a 4xx ``{"error": {"code", "message", "field"?}}``
with a code of §3 (an ``error`` frame with a code of §4 on a websocket), never a 5xx and never a
connection dropped without the close frame PROTOCOL.md or the README gives (1008 for a bad hello,
1009 for a frame over 64 KiB). After each run the engine still serves a new chat end to end and has
logged no traceback.

Each test starts one engine and runs all of its examples against it: hypothesis runs in a worker
thread and each example calls back into the test's trio run, where the engine and the clients live.
Examples are bounded (``max_examples`` 60-300, by what an example costs) to keep the file within
about half a minute on two cores.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

import orjson
import pytest
import trio
from conftest import PASSWORD, Engine, make_config, running_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, WebSocketConnection, connect_websocket_url

from frontdesk.engine.protocol.frames import FRAME_TYPES, MAX_FRAME_BYTES
from tests.fuzzing import (
    BODIES,
    FIELDS,
    FRAME_TYPE_VALUES,
    VALID_BODIES,
    Pairs,
    documents,
    dumps,
    hostile_bodies,
    hostile_frames,
    hostile_objects,
    json_values,
    nearly_valid_frames,
    replaced,
    to_bytes,
)

EXAMPLES = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# PROTOCOL.md §3 and the README's API notes: the error codes of HTTP answers (5xx fails anyway)
HTTP_ERROR_CODES = {"bad_json", "missing_field", "invalid_value", "invalid_email", "unauthenticated",
                    "bad_credentials", "forbidden", "not_found", "conflict", "too_large", "file_too_large",
                    "unsupported_type", "rate_limited", "method_not_allowed", "bad_request", "timeout"}
# PROTOCOL.md §4
WS_ERROR_CODES = {"bad_frame", "unknown_type", "missing_field", "invalid_value", "not_found", "forbidden",
                  "offer_expired", "not_participant", "too_long", "too_many_attachments", "invitation_pending",
                  "rate_limited", "unauthenticated"}
CLOSE_BAD_HELLO, CLOSE_TOO_BIG = 1008, 1009
DEMO_EMAILS = ["agent1@demo.test", "Agent2@Demo.Test", "supervisor@demo.test", "nobody@demo.test"]


# ---- the engine, the bridge to hypothesis and the final checks -------------------------------

@pytest.fixture
async def fuzz_engine(database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Engine]:
    """An engine whose offers wait long and whose agents are never set away for missing them, so that
    agents stay online through a run and chats are queued (the full path to the database)."""
    caplog.set_level(logging.ERROR)
    async with running_engine(make_config(database_url, data_dir, offer_timeout_ms=120_000,
                                          missed_offers_away=1_000)) as engine:
        yield engine


async def fuzz(strategy: st.SearchStrategy[Any], check: Callable[[Any], Awaitable[None]],
               examples: settings = EXAMPLES) -> None:
    """Check every example of ``strategy`` with ``check``: hypothesis runs in a worker thread (it is
    synchronous), each ``check`` back in this trio run, against the one engine of the test."""

    @examples
    @given(strategy)
    def run(value: Any) -> None:
        trio.from_thread.run(check, value)

    await trio.to_thread.run_sync(run)


async def still_serves_a_chat_and_logged_no_traceback(engine: Engine, nursery: trio.Nursery,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A new customer and a fresh agent socket still chat end to end, and nothing was logged with a
    traceback (nor at ERROR at all: no client input is an error of the engine)."""
    agent_token = (await engine.login("agent3@demo.test"))["token"]
    staff = await Socket.open(nursery, engine, agent_token)
    await staff.send({"type": "presence", "state": "available"})
    await staff.expect("presence", state="available")
    chat = await engine.start_chat(queue="sales", name="Final Check", email="final@example.com")
    cid = chat["conversation_id"]
    customer = await Socket.open(nursery, engine, chat["customer_token"])
    with trio.fail_after(10):
        while (offer := await staff.expect("offer"))["conversation_id"] != cid:
            # a chat a fuzzed form left waiting in the queue: its turn came first
            await staff.send({"type": "reject", "offer_id": offer["offer_id"]})
    await staff.send({"type": "accept", "offer_id": offer["offer_id"]})
    await staff.expect("conversation", conversation_id=cid)
    await customer.send({"type": "send", "client_id": "final-1", "text": "still there?"})
    await customer.expect("ack", client_id="final-1")
    assert (await staff.expect("message", conversation_id=cid, seq=2))["text"] == "still there?"
    await staff.send({"type": "send", "client_id": "final-2", "conversation_id": cid, "text": "yes"})
    assert (await customer.expect("message", seq=3))["text"] == "yes"
    await customer.send({"type": "end"})
    await staff.expect("ended", conversation_id=cid)
    for socket in (staff, customer):
        await socket.ws.aclose()
    problems = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not problems, problems


# ---- HTTP ---------------------------------------------------------------------------------------

def check_error_body(status: int, body: bytes) -> dict[str, Any]:
    """A 4xx answer of PROTOCOL.md §3's shape; its ``error`` object."""
    assert 400 <= status < 500, (status, body[:300])
    data = orjson.loads(body)
    assert isinstance(data, dict) and set(data) == {"error"}, data
    error = data["error"]
    assert set(error) <= {"code", "message", "field"} and {"code", "message"} <= set(error), error
    assert error["code"] in HTTP_ERROR_CODES, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error.get("field", ""), str)
    return dict(error)


def check_reply(status: int, body: bytes, shapes: dict[int, set[str]]) -> dict[str, Any]:
    """A success with the keys ``shapes`` gives for its status, or a 4xx error; never a 5xx."""
    assert status < 500, (status, body[:300])
    if status >= 400:
        return {"error": check_error_body(status, body)}
    assert status in shapes, (status, body[:300])
    data = orjson.loads(body)
    assert isinstance(data, dict) and set(data) == shapes[status], data
    return dict(data)


class Lane:
    """One kept-alive HTTP/1.1 connection of raw bytes. ``opening`` (a GET) goes first on every new
    connection: then hypercorn serves it, and a chat on it takes Quart's route instead of the
    listener's chat door. A connection is opened anew only after an answer that closed it (or an
    idle pause): a connection closed before it answered is a failure."""

    def __init__(self, engine: Engine, opening: bytes | None = None):
        url = urlsplit(engine.base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.opening = opening
        self.stream: trio.SocketStream | None = None
        self.buffer = b""
        self.last = 0.0

    async def request(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.stream is None or trio.current_time() - self.last > 3.0:   # the server's keep-alive is 5 s
            await self.close()
            self.stream = await trio.open_tcp_stream(self.host, self.port)
            if self.opening is not None:
                await self.stream.send_all(self.opening)
                status, _, _ = await self._response()
                assert status == 200
        assert self.stream is not None
        await self.stream.send_all(data)
        status, headers, body = await self._response()
        self.last = trio.current_time()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()
        self.stream, self.buffer = None, b""

    async def _more(self) -> None:
        assert self.stream is not None
        data = await self.stream.receive_some(65536)
        assert data, "the connection was closed without an answer"
        self.buffer += data

    async def _response(self) -> tuple[int, dict[str, str], bytes]:
        with trio.fail_after(15):
            while True:
                while b"\r\n\r\n" not in self.buffer:
                    await self._more()
                head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ")[1])
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                if status >= 200:
                    break                   # else a 100 Continue: its final answer follows
            length = int(headers.get("content-length", "0"))
            while len(self.buffer) < length:
                await self._more()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body


def post(path: bytes, body: bytes, extra: bytes = b"", chunks: int = 0) -> bytes:
    """The request; with ``chunks`` its body goes chunked, in that many pieces."""
    head = b"POST " + path + b" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + extra
    if not chunks:
        return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    size = max(1, -(-len(body) // chunks))
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return (head + b"Transfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n")


def get(target: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra + b"\r\n"


def bearer(token: str) -> bytes:
    return b"Authorization: Bearer " + token.encode() + b"\r\n"


CHAT_SHAPES = {201: {"status", "conversation_id", "customer_token", "position"},
               200: {"status", "reason", "message", "next_open", "offline_requests"}}


@st.composite
def nearly_valid(draw: st.DrawFn, kind: str, queues: list[str]) -> Pairs:
    """A valid body of ``kind`` in an open queue with at most one field replaced by any value:
    most hostile bodies are refused early, these go all the way to the database."""
    body = {**draw(VALID_BODIES[kind]), "queue": draw(st.sampled_from(queues))}
    if kind == "chat" and draw(st.booleans()):
        # the queue's extra fields are stored as they come (JSON keys and values)
        body["fields"] = draw(hostile_objects("fields"))
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(BODIES[kind])))
        if name == "fields":
            value = draw(hostile_objects("fields") | json_values(huge=False))
        else:
            value = draw(json_values(huge=False))
        body = replaced(body, name, value)
    return Pairs(tuple(body.items()))


# how a request carries its body: a length, chunks, or a length after "Expect: 100-continue"
framings = st.sampled_from([(b"", 0), (b"", 0), (b"", 1), (b"", 3), (b"Expect: 100-continue\r\n", 0)])


@st.composite
def chat_bodies(draw: st.DrawFn) -> bytes:
    # "messages" has a consent notice: its forms need "consent": true
    body = draw(st.one_of(*[nearly_valid("chat", ["support", "sales", "messages"])] * 3, hostile_bodies("chat")))
    return draw(documents(body)) if draw(st.integers(0, 5)) == 0 else to_bytes(dumps(body))


FORM = b'"queue":"support","name":"Cora","email":"cora@example.com","question":"Where is my order?"'
# bodies the fuzz found wrongly answered, each with the field its 422 names: checked on both paths
# before the drawn ones
CHAT_FINDINGS = [
    (b"{" + FORM + b',"fields":{"order\\u0000":"42"}}', "fields"),    # was 503 and an ERROR: jsonb refused it
    (b"{" + FORM + b',"fields":[]}', "fields"),                        # was taken for no fields
    (b"{" + FORM + b',"name":"Cora\\r\\nBcc: eve@example.com"}', "name"),   # was stored, to reach mail
    (b"{" + FORM + b',"question":"\\ud800"}', "question"),               # was bad_json, no field named
    (b"{" + FORM + b',"question":' + b"1" * 5_000 + b"}", "question"),     # was bad_json, no field named
]
OFFLINE_FINDINGS = [
    b'{"name":"Olga\\nOlsen","queue":"after-hours","email":"olga@example.com","question":"Call me"}',
    b'{"name":"Olga","queue":"after-hours","email":"olga@example.com","question":"Call me","q":1e999}',
]


async def test_fuzzed_pre_chat_forms_get_the_same_4xx_on_the_chat_door_and_quarts_route(
        fuzz_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine = fuzz_engine
    async with trio.open_nursery() as nursery:
        # an agent online, so that a valid form is stored and queued rather than answered "closed"
        agent_token = (await engine.login("agent1@demo.test"))["token"]
        online = await Socket.open(nursery, engine, agent_token)
        door = Lane(engine)                                     # every request a chat: the chat door
        quart = Lane(engine, opening=get(b"/healthz"))          # a GET first: hypercorn and Quart
        queued = 0

        async def check(body_and_framing: tuple[bytes, tuple[bytes, int]]) -> None:
            nonlocal queued
            body, (extra, chunks) = body_and_framing
            answers = []
            for lane in (door, quart):
                status, _, reply = await lane.request(post(b"/api/chats", body, extra, chunks))
                data = check_reply(status, reply, CHAT_SHAPES)
                answers.append((status, data))
                queued += status == 201
            if any(status >= 400 for status, _ in answers):
                assert answers[0] == answers[1], answers

        for body, field_name in CHAT_FINDINGS:
            for lane in (door, quart):
                status, _, reply = await lane.request(post(b"/api/chats", body))
                assert (status, check_error_body(status, reply).get("field")) == (422, field_name), reply
        await fuzz(st.tuples(chat_bodies(), framings), check)
        assert queued, "no valid form among the examples: the strategy no longer reaches the database"
        await online.check_all()
        await door.close()
        await quart.close()
        await still_serves_a_chat_and_logged_no_traceback(engine, nursery, caplog)
        nursery.cancel_scope.cancel()


OFFLINE_SHAPES = {201: {"request_id", "request_number"}}
LOGIN_SHAPES = {200: {"token", "agent"}}


@st.composite
def offline_bodies(draw: st.DrawFn) -> bytes:
    body = draw(st.one_of(*[nearly_valid("offline", ["support", "after-hours", "messages"])] * 3,
                          hostile_bodies("offline")))
    return draw(documents(body)) if draw(st.integers(0, 5)) == 0 else to_bytes(dumps(body))


@st.composite
def login_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    role = draw(st.sampled_from(["agents", "supervisors"]))
    body = draw(hostile_bodies("login"))
    # a real address and the right password now and then, so that some logins succeed
    if draw(st.integers(0, 3)) == 0:
        body = Pairs((("email", draw(st.sampled_from(DEMO_EMAILS))),
                      ("password", draw(st.sampled_from([PASSWORD, PASSWORD + " ", "wrong"])))))
    return role, draw(documents(body)) if draw(st.booleans()) else to_bytes(dumps(body))


async def test_fuzzed_offline_requests_and_logins_get_their_answer_or_a_4xx(
        fuzz_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine = fuzz_engine
    async with trio.open_nursery() as nursery:
        lane = Lane(engine, opening=get(b"/healthz"))
        created = 0

        async def check_offline(body: bytes) -> None:
            nonlocal created
            status, _, reply = await lane.request(post(b"/api/offline-requests", body))
            data = check_reply(status, reply, OFFLINE_SHAPES)
            created += status == 201
            if status == 201:
                assert data["request_number"].startswith("REQ-")

        async def check_login(role_and_body: tuple[str, bytes]) -> None:
            role, body = role_and_body
            status, _, reply = await lane.request(post(b"/api/" + role.encode() + b"/login", body))
            shapes = LOGIN_SHAPES if role == "agents" else {200: {"token", "supervisor"}}
            check_reply(status, reply, shapes)

        for body in OFFLINE_FINDINGS:
            status, _, reply = await lane.request(post(b"/api/offline-requests", body))
            assert (status, check_error_body(status, reply)["code"]) == (422, "invalid_value"), reply
        await fuzz(offline_bodies(), check_offline)
        await fuzz(login_bodies(), check_login, settings(EXAMPLES, max_examples=60))
        assert created, "no valid offline request among the examples"
        await lane.close()
        await still_serves_a_chat_and_logged_no_traceback(engine, nursery, caplog)
        nursery.cancel_scope.cancel()


# any bytes of a query or path segment, percent-encoded (invalid UTF-8 and NUL too) or not
query_bytes = (st.binary(max_size=40) | st.sampled_from([b"", b"support", b"sales", b"open", b"handled", b"x" * 600,
                                                        b"reset my passw", b"_ * & | ! : ( )", b"\x00",
                                                        "pässwörd ünïcode ²³ ǅ İ".encode()]))


# the routes that take an id in their path: (method, before the id, after it, whose token)
PATH_ROUTES = [(b"GET", b"/api/queues/", b"", "agent"), (b"GET", b"/api/conversations/", b"/transcript", "agent"),
               (b"GET", b"/api/conversations/", b"/transcript", "customer"),
               (b"POST", b"/api/conversations/", b"/transcript-email", "customer"),
               (b"POST", b"/api/conversations/", b"/rating", "customer"),
               (b"GET", b"/api/conversations/", b"/rating", "customer"),
               (b"GET", b"/api/attachments/", b"", "customer"),
               (b"POST", b"/api/offline-requests/", b"/handle", "agent")]


@st.composite
def queries(draw: st.DrawFn) -> tuple[bytes, str]:
    """A request (method and target) of a route with a query or an id in its path, and whose token
    it carries."""
    def encoded(raw: bytes) -> bytes:
        return quote_from_bytes(raw, safe=b"").encode() if draw(st.booleans()) else quote_from_bytes(raw).encode()

    route = draw(st.sampled_from(["faq", "faq", "offline", "path", "path"]))
    if route == "faq":
        params = draw(st.lists(st.tuples(st.sampled_from([b"queue", b"q", b"x"]), query_bytes), max_size=4))
        if draw(st.booleans()):
            params = [(b"queue", b"support"), *params]
        return b"GET /api/faq?" + b"&".join(k + b"=" + encoded(v) for k, v in params), "agent"
    if route == "offline":
        return b"GET /api/offline-requests?status=" + encoded(draw(query_bytes)), "agent"
    method, before, after, who = draw(st.sampled_from(PATH_ROUTES))
    # an id that exists (filled in when sent), a random one, or any bytes
    segment = draw(st.sampled_from([b"{conversation_id}", b"{request_id}"]) | st.uuids().map(lambda u: str(u).encode())
                   | query_bytes)
    if segment not in (b"{conversation_id}", b"{request_id}"):
        segment = encoded(segment)
    return method + b" " + before + (segment or b"x") + after, who


async def test_fuzzed_queries_and_path_ids_get_their_answer_or_a_4xx(fuzz_engine: Engine,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    engine = fuzz_engine
    async with trio.open_nursery() as nursery:
        tokens = {"agent": (await engine.login("agent1@demo.test"))["token"]}
        online = await Socket.open(nursery, engine, tokens["agent"])
        chat = await engine.start_chat()
        tokens["customer"] = chat["customer_token"]
        async with engine.http() as http:
            request = await http.post("/api/offline-requests", json={
                "queue": "after-hours", "name": "Olga", "email": "olga@example.com", "question": "Call me"})
        ids = {b"{conversation_id}": chat["conversation_id"].encode(),
               b"{request_id}": request.json()["request_id"].encode()}
        lane = Lane(engine, opening=get(b"/healthz"))
        answered = 0

        async def check(request_and_who: tuple[bytes, str]) -> None:
            nonlocal answered
            line, who = request_and_who
            for name, value in ids.items():
                line = line.replace(name, value)
            extra = b"Content-Length: 0\r\n" if line.startswith(b"POST") else b""
            status, headers, reply = await lane.request(line + b" HTTP/1.1\r\nHost: localhost\r\n" + extra
                                                        + bearer(tokens[who]) + b"\r\n")
            assert status < 500, (line, status, reply[:300])
            if status >= 400:
                check_error_body(status, reply)
            else:
                answered += 1
                assert headers.get("content-type", "").startswith("application/json"), (line, headers)
                assert isinstance(orjson.loads(reply), dict)

        await fuzz(queries(), check, settings(EXAMPLES, max_examples=200))
        assert answered
        await online.check_all()
        await lane.close()
        await still_serves_a_chat_and_logged_no_traceback(engine, nursery, caplog)
        nursery.cancel_scope.cancel()


# bytes a header value may carry (RFC 9110: tab, visible ASCII and obs-text; a request with others is
# not HTTP, which hypercorn refuses before the engine sees it)
header_bytes = st.binary(max_size=60).map(lambda b: bytes(c for c in b if c == 9 or 0x20 <= c <= 0x7E or c >= 0x80
                                                            ).strip())
boundaries = st.sampled_from([b"b0undary", b"x" * 70, b"'\"quoted\"'", b"a b", b"\xff\xfe"]) | header_bytes
FILES = [b"hello, a plain text file\n", b"%PDF-1.4\n%%EOF\n", b"MZ\x90\x00\x03\x00\x00\x00", b"",
         b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04garbage",
         b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64]


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, bytes, bytes]:
    """(whose token, the request's extra headers, its body): a multipart upload whose headers, part
    headers and file name are fuzzed."""
    boundary = draw(boundaries) or b"b"
    content_type = draw(st.sampled_from([b"multipart/form-data; boundary=" + boundary,
                                         b"multipart/form-data; boundary=\"" + boundary + b"\"",
                                         b"multipart/form-data", b"application/json", b"text/plain; boundary=b"])
                        | header_bytes)
    disposition = draw(st.sampled_from([b'form-data; name="file"; filename="', b'form-data; name=file; filename="',
                                        b'form-data; name="other"; filename="', b"attachment; filename=\""])
                       ) + draw(header_bytes.map(lambda b: b.replace(b'"', b""))) + b'"'
    part_headers = b"Content-Disposition: " + disposition + b"\r\n"
    if draw(st.booleans()):
        part_headers += b"Content-Type: " + draw(header_bytes) + b"\r\n"
    content = draw(st.sampled_from(FILES) | st.binary(max_size=200))
    body = b"--" + boundary + b"\r\n" + part_headers + b"\r\n" + content + b"\r\n--" + boundary + b"--\r\n"
    if draw(st.integers(0, 5)) == 0:
        body = draw(st.binary(max_size=200))
    who = draw(st.sampled_from(["customer", "agent", "supervisor", "none", "garbage"]))
    return who, b"Content-Type: " + content_type + b"\r\n", body


UPLOAD_SHAPES = {201: {"attachment_id", "filename", "content_type", "size"}}


async def test_fuzzed_upload_headers_get_201_or_a_4xx(fuzz_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine = fuzz_engine
    async with trio.open_nursery() as nursery:
        tokens = {"agent": (await engine.login("agent1@demo.test"))["token"],
                  "supervisor": (await engine.login("supervisor@demo.test", kind="supervisors"))["token"],
                  "garbage": "not-a-token"}
        online = await Socket.open(nursery, engine, tokens["agent"])
        tokens["customer"] = (await engine.start_chat())["customer_token"]
        lane = Lane(engine, opening=get(b"/healthz"))
        stored = 0

        async def check(upload: tuple[str, bytes, bytes]) -> None:
            nonlocal stored
            who, headers, body = upload
            auth = bearer(tokens[who]) if who in tokens else b""
            request = (b"POST /api/uploads HTTP/1.1\r\nHost: localhost\r\n" + auth + headers
                       + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            status, _, reply = await lane.request(request)
            data = check_reply(status, reply, UPLOAD_SHAPES)
            stored += status == 201
            if status == 201:
                assert who in ("customer", "agent") and data["size"] > 0

        await fuzz(uploads(), check)
        await online.check_all()
        await lane.close()
        await still_serves_a_chat_and_logged_no_traceback(engine, nursery, caplog)
        nursery.cancel_scope.cancel()


# ---- websockets ---------------------------------------------------------------------------------

def check_frame(frame: Any) -> None:
    """A server event: an object with a type; an ``error`` event of PROTOCOL.md §4's shape."""
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    if frame["type"] == "error":
        assert {"type", "code", "message", "ref"} <= set(frame) <= {"type", "code", "message", "ref", "field"}, frame
        assert frame["code"] in WS_ERROR_CODES, frame
        assert isinstance(frame["message"], str) and frame["message"], frame
        assert frame["ref"] is None or isinstance(frame["ref"], str), frame
        assert isinstance(frame.get("field", ""), str), frame


@dataclass
class Socket:
    """A client websocket whose every received frame is checked and kept."""

    ws: WebSocketConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, nursery: trio.Nursery, engine: Engine) -> Socket:
        return cls(await connect_websocket_url(nursery, engine.ws_url, message_queue_size=100_000))

    @classmethod
    async def open(cls, nursery: trio.Nursery, engine: Engine, token: str) -> Socket:
        """Connected and welcomed."""
        socket = await cls.connect(nursery, engine)
        await socket.send({"type": "hello", "token": token})
        await socket.expect("welcome")
        return socket

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send_message(frame if isinstance(frame, str | bytes) else orjson.dumps(frame).decode())

    async def receive(self) -> dict[str, Any]:
        frame = orjson.loads(await self.ws.get_message())
        check_frame(frame)
        self.frames.append(frame)
        return dict(frame)

    async def expect(self, type_: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The first frame of ``type_`` (with ``match``) not taken yet, read as needed."""
        with trio.fail_after(timeout):
            while True:
                for i in range(len(self.frames)):
                    frame = self.frames[i]
                    if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                        self.frames[i] = {**frame, "type": f"taken:{type_}"}
                        return frame
                await self.receive()

    async def exchange(self, raw: str | bytes) -> int | None:
        """Send ``raw``, then a marker; read up to the marker's answer. The close code if the server
        closed instead. The marker is a frame the Session refuses at once, naming it in ``ref``: a pong
        could be the late answer to a fuzzed ping."""
        marker = f"marker-{uuid.uuid4()}"
        try:
            await self.send(raw)
            await self.send({"type": "typing", "client_id": marker})
            with trio.fail_after(10):
                while (await self.receive()).get("ref") != marker:
                    pass
        except ConnectionClosed as exc:
            return int(exc.reason.code)
        return None

    async def check_all(self) -> None:
        """Everything that arrived by now is checked (frames of earlier commands come late too)."""
        with trio.move_on_after(0.2):
            while True:
                await self.receive()


@dataclass(frozen=True)
class Live:
    """A value only the running engine knows (a real id or token), filled in when a frame is sent."""

    name: str


def resolve(value: Any, live: dict[str, Any]) -> Any:
    if isinstance(value, Live):
        return live.get(value.name, value.name)
    if isinstance(value, Pairs):
        return Pairs(tuple((str(resolve(k, live)), resolve(v, live)) for k, v in value.items))
    if isinstance(value, dict):
        return {str(resolve(k, live)): resolve(v, live) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, live) for v in value]
    return value


def live_ids(*names: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([Live(n) for n in names]) | st.uuids().map(str) | st.just("not-a-uuid")


# values that mean something to the running engine, by field name: the frames' real targets
LIVE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "conversation_id": live_ids("conversation_id", "conversation_id", "other_conversation_id"),
    "offer_id": live_ids("offer_id", "offer_id"),
    "invitation_id": live_ids("invitation_id"),
    "transfer_id": live_ids("transfer_id"),
    "agent_id": live_ids("agent2_id", "agent2_id", "agent1_id"),
    "queue": st.sampled_from(["support", "sales", "after-hours", "messages", "nope"]),
    "client_id": st.uuids().map(str) | st.just(Live("client_id")),
    "seq": st.sampled_from([0, 1, 2, Live("last_seq"), 2**31 - 1]),
    "token": st.sampled_from([Live("customer_token"), Live("agent_token"), Live("supervisor_token"), "x"]),
    "resume": st.builds(lambda n: Pairs(((Live("conversation_id"), n),)), st.sampled_from([0, 1, 2**31 - 1])),
    "state": st.sampled_from(["available", "away"]),
    "attachments": st.lists(live_ids("attachment_id"), max_size=6),
    "options": st.just([{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}]),
    "option_id": st.sampled_from(["yes", "no", "maybe"]),
    "text": st.sampled_from(["Hello there", "x" * 10_000, "x" * 10_001, "  "]),
}
# nine in ten frames of a real type: a frame of no type is refused before anything else is looked at
REAL_TYPES = st.one_of(*[st.sampled_from(sorted(FRAME_TYPES))] * 9, FRAME_TYPE_VALUES)
# a customer's own frames more often than the agents' ones it may not send
CUSTOMER_TYPES = st.sampled_from(["send", "send", "read", "typing", "end", "ping"]) | st.sampled_from(
    sorted(FRAME_TYPES))
FRAMES = {role: nearly_valid_frames(live=LIVE_FIELDS, any_value=json_values(huge=False), types=types)
          | hostile_frames(live=LIVE_FIELDS, any_value=json_values(huge=False), types=REAL_TYPES)
          for role, types in (("customer", CUSTOMER_TYPES), ("agent", st.sampled_from(sorted(FRAME_TYPES))))}
HUGE_FRAMES = st.builds(lambda text: Pairs((("type", "send"), ("client_id", "huge"), ("text", text))),
                        st.sampled_from(["y" * (MAX_FRAME_BYTES + 1), "ÿ" * (MAX_FRAME_BYTES // 2 + 1)]))


@st.composite
def wire_frames(draw: st.DrawFn, frames: st.SearchStrategy[Pairs]) -> tuple[Pairs, str]:
    """A frame and how it goes on the wire: JSON text (escaped or not), its bytes in a binary
    message, or damaged bytes in a binary message."""
    frame = draw(frames | HUGE_FRAMES) if draw(st.integers(0, 30)) == 0 else draw(frames)
    return frame, draw(st.sampled_from(["text", "text", "ascii", "binary", "damaged"]))


def encode_frame(frame: Pairs, how: str, live: dict[str, Any], damage: Callable[[Any], bytes]) -> str | bytes:
    value = resolve(frame, live)
    if how == "binary":
        return to_bytes(dumps(value))
    if how == "damaged":
        return damage(value)
    # a text message must be UTF-8: lone surrogates are sent escaped
    text = dumps(value, ascii_only=how == "ascii")
    return text if not any(0xD800 <= ord(c) <= 0xDFFF for c in text) else dumps(value)


def wire_size(raw: str | bytes) -> int:
    return len(raw) if isinstance(raw, bytes) else len(raw.encode())


class Scene:
    """agent1 and a customer in an accepted support chat, agent2 (away: offered nothing, still
    invitable) and another customer's chat; the ids and tokens the fuzzed frames may name."""

    def __init__(self, engine: Engine, nursery: trio.Nursery):
        self.engine, self.nursery = engine, nursery
        self.live: dict[str, Any] = {}

    async def start(self) -> None:
        engine = self.engine
        a1, a2 = await engine.login("agent1@demo.test"), await engine.login("agent2@demo.test")
        sup = await engine.login("supervisor@demo.test", kind="supervisors")
        self.live.update(agent_token=a1["token"], agent1_id=a1["agent"]["id"], agent2_id=a2["agent"]["id"],
                         supervisor_token=sup["token"])
        self.agent2 = await Socket.open(self.nursery, engine, a2["token"])
        await self.agent2.send({"type": "presence", "state": "away"})
        await self.agent2.expect("presence", state="away")
        self.agent = await Socket.open(self.nursery, engine, a1["token"])
        await self.new_chat()
        other = await engine.start_chat(name="Otto Other", email="otto@example.com")
        self.live["other_conversation_id"] = other["conversation_id"]
        self.live["offer_id"] = (await self.agent.expect("offer", conversation_id=other["conversation_id"]))["offer_id"]
        upload = await self.upload(a1["token"])
        self.live["attachment_id"] = upload

    async def upload(self, token: str) -> str:
        async with self.engine.http() as http:
            r = await http.post("/api/uploads", headers={"Authorization": f"Bearer {token}"},
                                files={"file": ("note.txt", b"a note\n", "text/plain")})
            assert r.status_code == 201, r.text
            return str(r.json()["attachment_id"])

    async def new_chat(self) -> None:
        """A new customer chat accepted by agent1 becomes the one the frames name."""
        await self.agent.send({"type": "presence", "state": "available"})
        await self.agent.expect("presence", state="available")
        chat = await self.engine.start_chat(name="Cora Customer", email="cora@example.com")
        cid = chat["conversation_id"]
        self.live.update(conversation_id=cid, customer_token=chat["customer_token"], last_seq=1)
        if hasattr(self, "customer"):
            await self.customer.check_all()
            await self.customer.ws.aclose()
        self.customer = await Socket.open(self.nursery, self.engine, chat["customer_token"])
        offer = await self.agent.expect("offer", conversation_id=cid)
        await self.agent.send({"type": "accept", "offer_id": offer["offer_id"]})
        await self.agent.expect("conversation", conversation_id=cid)

    def ended(self) -> bool:
        """The chat the frames name has ended (a welcome after the end says so too)."""
        cid = self.live["conversation_id"]
        return any((f["type"] in ("ended", "taken:ended") and f.get("conversation_id") == cid)
                   or (f["type"] == "taken:welcome" and f.get("conversation", {}).get("status") == "ended")
                   for socket in (self.agent, self.customer) for f in socket.frames)

    def note(self, socket: Socket) -> None:
        """Remember the newest ids the engine gave out (an offer, an invitation, a transfer, a seq, a client_id)."""
        for frame in socket.frames[-20:]:
            if frame["type"] == "offer":
                self.live["offer_id"] = frame["offer_id"]
            elif frame["type"] == "invitation":
                self.live["invitation_id"] = frame["invitation_id"]
            elif frame["type"] in ("transfer_offer", "transfer_result"):
                self.live["transfer_id"] = frame["transfer_id"]
            elif frame["type"] == "ack":
                self.live.update(client_id=frame["client_id"], last_seq=frame["seq"])

    async def after(self, socket: Socket, raw: str | bytes, code: int | None, first: bool = False) -> None:
        """Check how the server ended an exchange; a closed socket must have had a reason."""
        if code is not None:
            allowed = {CLOSE_BAD_HELLO, CLOSE_TOO_BIG} if first else {CLOSE_TOO_BIG}
            assert code in allowed, (code, raw[:300])
            if code == CLOSE_TOO_BIG:
                assert wire_size(raw) > MAX_FRAME_BYTES, (code, raw[:300])
        self.note(socket)


async def test_fuzzed_first_frames_get_a_welcome_or_unauthenticated_and_a_1008_close(
        fuzz_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine = fuzz_engine
    async with trio.open_nursery() as nursery:
        scene = Scene(engine, nursery)
        await scene.start()
        # mostly hellos: the first frame is the one that authenticates
        hellos = (nearly_valid_frames(live=LIVE_FIELDS, any_value=json_values(huge=False), types=st.just("hello"))
                  | hostile_frames(live=LIVE_FIELDS, any_value=json_values(huge=False),
                                   types=st.just("hello") | FRAME_TYPE_VALUES))
        welcomed = 0

        async def check(frame_and_how: tuple[Pairs, str]) -> None:
            nonlocal welcomed
            frame, how = frame_and_how
            socket = await Socket.connect(nursery, engine)
            raw = encode_frame(frame, how, scene.live, lambda v: b"\xff" + to_bytes(dumps(v)))
            try:
                await socket.send(raw)
                with trio.fail_after(10):
                    first = await socket.receive()
                if first["type"] == "error":
                    assert first["code"] == "unauthenticated", first
                    with trio.fail_after(10):
                        while True:
                            await socket.receive()
                assert first["type"] == "welcome", first
                welcomed += 1
                code = await socket.exchange('{"type":"ping"}')
                assert code is None
            except ConnectionClosed as exc:
                await scene.after(socket, raw, int(exc.reason.code), first=True)
                assert exc.reason.code == CLOSE_TOO_BIG or any(f.get("code") == "unauthenticated"
                                                               for f in socket.frames), socket.frames
            finally:
                await socket.ws.aclose()

        await fuzz(wire_frames(hellos), check, settings(EXAMPLES, max_examples=150))
        assert welcomed, "no hello with a real token among the examples"
        await still_serves_a_chat_and_logged_no_traceback(engine, nursery, caplog)
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("role", ["customer", "agent"])
async def test_fuzzed_frames_of_every_type_get_an_answer_or_a_protocol_error_and_the_socket_stays(
        fuzz_engine: Engine, caplog: pytest.LogCaptureFixture, role: str) -> None:
    engine = fuzz_engine
    async with trio.open_nursery() as nursery:
        scene = Scene(engine, nursery)
        await scene.start()

        async def check(frame_and_how: tuple[Pairs, str]) -> None:
            frame, how = frame_and_how
            socket = scene.customer if role == "customer" else scene.agent
            raw = encode_frame(frame, how, scene.live, lambda v: to_bytes(dumps(v)).replace(b"\"", b"\xc0", 1))
            code = await socket.exchange(raw)
            await scene.after(socket, raw, code)
            if code is not None:        # closed with 1009: the client connects again
                token = scene.live["customer_token" if role == "customer" else "agent_token"]
                fresh = await Socket.open(nursery, engine, token)
                if role == "agent":
                    scene.agent = fresh
                else:
                    scene.customer = fresh
            # a chat that ended is replaced, so that the next frames reach a live conversation
            if scene.ended():
                await scene.new_chat()

        await fuzz(wire_frames(FRAMES[role]), check, settings(EXAMPLES, max_examples=300))
        for socket in (scene.agent, scene.agent2, scene.customer):
            await socket.check_all()
        await still_serves_a_chat_and_logged_no_traceback(engine, nursery, caplog)
        nursery.cancel_scope.cancel()


def test_the_live_values_cover_every_id_field_of_the_frames() -> None:
    # a new id field in a frame needs a live value here, or the fuzz only ever sends it garbage
    id_fields = {name for names in FIELDS.values() for name in names if name.endswith("_id")}
    assert id_fields <= set(LIVE_FIELDS), id_fields - set(LIVE_FIELDS)

