"""Websocket plumbing of the generator: open a socket with bounded time, send and read JSON frames."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

CONNECT_TIMEOUT_S = 10.0
DISCONNECT_TIMEOUT_S = 2.0
MESSAGE_QUEUE_SIZE = 4096      # frames buffered per socket before trio-websocket stops reading


def open_ws(url: str) -> AbstractAsyncContextManager[WebSocketConnection]:
    """A websocket that is closed (within 2 s) when the block is left."""
    return open_websocket_url(url, message_queue_size=MESSAGE_QUEUE_SIZE, connect_timeout=CONNECT_TIMEOUT_S,
                              disconnect_timeout=DISCONNECT_TIMEOUT_S)


async def send_json(ws: WebSocketConnection, frame: dict[str, Any]) -> None:
    await ws.send_message(orjson.dumps(frame).decode())


async def expect(ws: WebSocketConnection, kind: str, timeout_s: float) -> dict[str, Any]:
    """Read until a frame of ``kind``; an ``error`` frame first raises ``RuntimeError``."""
    with trio.fail_after(timeout_s):
        while True:
            frame = orjson.loads(await ws.get_message())
            if frame.get("type") == kind:
                return dict(frame)
            if frame.get("type") == "error":
                raise RuntimeError(f"error instead of {kind}: {frame.get('code')}")


def close_code(exc: ConnectionClosed) -> str:
    reason = exc.reason
    return str(reason.code) if reason is not None else "?"
