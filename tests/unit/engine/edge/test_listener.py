"""The engine's port routes a connection by its request head (engine/edge/listener.py): only a
websocket upgrade of /ws goes to the engine's own websocket server, all else to hypercorn; the
head is read no further than needed (the port against a real engine:
tests/e2e/edge/test_listener_over_tcp.py)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from frontdesk.engine.edge.listener import is_websocket_upgrade, read_head

UPGRADE = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


@pytest.mark.parametrize(("head", "websocket"), [
    (UPGRADE, True),
    (UPGRADE.replace(b"/ws", b"/ws?lang=de"), True),
    (UPGRADE.replace(b"Upgrade: websocket", b"upgrade:   WebSocket"), True),
    (UPGRADE.replace(b"/ws", b"/wsx"), False),
    (UPGRADE.replace(b"/ws", b"/api/ws"), False),
    (UPGRADE.replace(b"GET", b"POST"), False),
    (UPGRADE.replace(b"Upgrade: websocket\r\n", b""), False),
    (b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", False),
    (b"garbage", False),
    (b"", False),
])
def test_only_a_websocket_upgrade_of_ws_skips_hypercorn(head: bytes, websocket: bool) -> None:
    assert is_websocket_upgrade(head) is websocket


async def test_read_head_stops_as_soon_as_it_cannot_be_a_websocket() -> None:
    a, b = trio.testing.memory_stream_pair()
    await a.send_all(b"POST /api/chats HTTP/1.1\r\n")   # no end of head: must not wait for one
    with trio.fail_after(2):
        head = await read_head(b)   # type: ignore[arg-type]
    assert head.startswith(b"POST")


async def test_read_head_of_an_upgrade_waits_for_the_whole_head() -> None:
    a, b = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        async def trickle() -> None:
            for i in range(0, len(UPGRADE), 5):
                await a.send_all(UPGRADE[i:i + 5])
                await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(trickle)
        head = await read_head(b)   # type: ignore[arg-type]
    assert head == UPGRADE
