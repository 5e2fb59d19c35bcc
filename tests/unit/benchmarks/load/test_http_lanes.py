"""The load generator's POST lanes (benchmarks/load/http_lanes.py) against a real HTTP/1.1 server
on loopback: keep-alive reuse, a server that closes, one that never answers, expiry, and the
wait for a free lane."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import h11
import orjson
import pytest
import trio

from benchmarks.load.http_lanes import KEEPALIVE_EXPIRY_S, HttpLanes, LaneError


@dataclass
class Server:
    """Echoes each request's body as ``{"path", "body", "n"}``; ``behaviour(n)`` may change the
    n-th request's fate: "close" (Connection: close), "drop" (close without answering), "hang"."""
    behaviour: Callable[[int], str] = lambda n: "answer"
    connections: int = 0
    requests: int = 0
    busy: int = 0
    most_busy: int = 0

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        http = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                request, body = None, b""
                while True:
                    event = http.next_event()
                    if event is h11.NEED_DATA:
                        data = await stream.receive_some(65536)
                        if not data:
                            return
                        http.receive_data(data)
                    elif isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        body += event.data
                    elif isinstance(event, h11.EndOfMessage):
                        break
                assert request is not None
                self.requests += 1
                self.busy += 1
                self.most_busy = max(self.most_busy, self.busy)
                fate = self.behaviour(self.requests)
                await trio.sleep(0.01)
                self.busy -= 1
                if fate == "drop":
                    return
                if fate == "hang":
                    await trio.sleep_forever()
                reply = orjson.dumps({"path": request.target.decode(), "body": body.decode(), "n": self.requests})
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(reply)).encode())]
                if fate == "close":
                    headers.append((b"connection", b"close"))
                await stream.send_all(http.send(h11.Response(status_code=201, headers=headers))
                                      + http.send(h11.Data(data=reply)) + http.send(h11.EndOfMessage()))
                if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                    return
                http.start_next_cycle()


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/base"
        nursery.cancel_scope.cancel()


async def test_requests_share_a_kept_alive_connection_and_get_their_answers() -> None:
    server = Server()
    async with serving(server) as base, HttpLanes(base, 5.0, 1) as lanes:
        first = await lanes.post("/api/chats", b'{"a": 1}')
        second = await lanes.post("/api/chats", b'{"a": 2}')
    assert first.status_code == 201 and first.json() == {"path": "/base/api/chats", "body": '{"a": 1}', "n": 1}
    assert second.json()["body"] == '{"a": 2}'
    assert server.connections == 1


async def test_a_connection_the_server_closes_is_made_again_for_the_next_request() -> None:
    server = Server(behaviour=lambda n: "close" if n == 1 else "answer")
    async with serving(server) as base, HttpLanes(base, 5.0, 1) as lanes:
        assert (await lanes.post("/x", b"1")).status_code == 201
        assert (await lanes.post("/x", b"2")).json()["n"] == 2
    assert server.connections == 2


async def test_a_server_that_drops_the_request_is_an_error_and_the_lane_recovers() -> None:
    server = Server(behaviour=lambda n: "drop" if n == 1 else "answer")
    async with serving(server) as base, HttpLanes(base, 5.0, 1) as lanes:
        with pytest.raises(LaneError) as caught:
            await lanes.post("/x", b"1")
        assert caught.value.kind == "RemoteProtocolError"
        assert (await lanes.post("/x", b"2")).json()["body"] == "2"
    assert server.connections == 2


async def test_nothing_listening_is_a_connect_error() -> None:
    with trio.socket.socket() as sock:                  # a port bound but not listening: refused
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        async with HttpLanes(f"http://127.0.0.1:{port}", 5.0, 1) as lanes:
            with pytest.raises(LaneError) as caught:
                await lanes.post("/x", b"")
    assert caught.value.kind == "ConnectError"


async def test_a_server_that_never_answers_times_out(autojump_clock: trio.testing.MockClock) -> None:
    server = Server(behaviour=lambda n: "hang")
    async with serving(server) as base, HttpLanes(base, 3.0, 1) as lanes:
        started = trio.current_time()
        with pytest.raises(LaneError) as caught:
            await lanes.post("/x", b"")
        assert caught.value.kind == "Timeout"
        assert trio.current_time() - started == pytest.approx(3.0, abs=0.1)


async def test_a_request_cancelled_midway_leaves_a_lane_that_works(autojump_clock: trio.testing.MockClock) -> None:
    server = Server(behaviour=lambda n: "hang" if n == 1 else "answer")
    async with serving(server) as base, HttpLanes(base, 30.0, 1) as lanes:
        with trio.move_on_after(1.0) as scope:
            await lanes.post("/x", b"1")
        assert scope.cancelled_caught
        assert (await lanes.post("/x", b"2")).json() == {"path": "/base/x", "body": "2", "n": 2}
    assert server.connections == 2


async def test_a_lane_idle_past_its_expiry_reconnects_before_sending(autojump_clock: trio.testing.MockClock) -> None:
    server = Server()
    async with serving(server) as base, HttpLanes(base, 5.0, 1) as lanes:
        await lanes.post("/x", b"1")
        await trio.sleep(KEEPALIVE_EXPIRY_S / 2)
        await lanes.post("/x", b"2")
        assert server.connections == 1
        await trio.sleep(KEEPALIVE_EXPIRY_S + 0.5)
        await lanes.post("/x", b"3")
    assert server.connections == 2


async def test_requests_beyond_the_lanes_wait_for_a_free_one() -> None:
    server = Server()
    answers: list[int] = []

    async def one(i: int) -> None:
        answers.append(int((await lanes.post("/x", str(i).encode())).json()["body"]))

    async with serving(server) as base, HttpLanes(base, 5.0, 3) as lanes:
        async with trio.open_nursery() as nursery:
            for i in range(12):
                nursery.start_soon(one, i)
    assert sorted(answers) == list(range(12))
    assert server.connections == 3 and server.most_busy == 3
