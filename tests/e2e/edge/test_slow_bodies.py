"""A client that trickles a request body holds a task and a connection: a JSON body must arrive
within its time, an upload must keep a pace (408 ``timeout`` otherwise), on the app's HTTP path."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import trio
from conftest import Engine

from frontdesk.engine.edge import http as edge_http


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_http, "BODY_TIMEOUT_S", 0.5)
    monkeypatch.setattr(edge_http, "UPLOAD_IDLE_S", 0.5)
    monkeypatch.setattr(edge_http, "UPLOAD_GRACE_S", 0.5)
    monkeypatch.setattr(edge_http, "UPLOAD_MIN_BYTES_PER_S", 1000)


async def status_of(stream: trio.SocketStream) -> int:
    data = b""
    with trio.fail_after(10):
        while b"\r\n" not in data:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


async def open_stream(engine: Engine) -> trio.SocketStream:
    parts = urlsplit(engine.base)
    return await trio.open_tcp_stream(parts.hostname or "127.0.0.1", parts.port or 80)


async def test_a_json_body_that_does_not_arrive_in_time_is_answered_408(engine: Engine) -> None:
    stream = await open_stream(engine)
    async with stream:
        await stream.send_all(b"POST /api/agents/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 100\r\n\r\n{\"email\":")
        assert await status_of(stream) == 408


async def test_an_upload_that_trickles_is_answered_408(engine: Engine) -> None:
    token = (await engine.login("agent1@demo.test"))["token"]
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n").encode()
    stream = await open_stream(engine)
    async with stream:
        part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        await stream.send_all(head + part)

        async def trickle() -> None:
            for _ in range(200):
                try:
                    await stream.send_all(b"x" * 10)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                await trio.sleep(0.05)      # 200 bytes a second: below the pace this test sets

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trickle)
            assert await status_of(stream) == 408
            nursery.cancel_scope.cancel()
