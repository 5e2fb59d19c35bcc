"""The engine's one listening port: websocket upgrades to ``/ws`` go straight to a Session,
``POST /api/chats`` to the lean chat path, everything else to hypercorn and the Quart app.

Each accepted connection is read up to the end of its request head (or until it is clearly
neither ``GET /ws`` nor ``POST /api/chats``). An upgrade to ``/ws`` is handed to
``on_websocket`` as a ``websocket.Handshake``; a chat request to ``chat_door.ChatDoor`` with
``on_chat``; any other connection goes to hypercorn's own per-connection server with the bytes
already read replayed in front of the stream, so hypercorn sees it exactly as it arrived (the
chat door hands a connection over the same way when a later request on it is not a chat).
These two carry nearly all of the load (every socket, every new chat), so they skip the ASGI
layers, which cost more CPU than the engine's own work on them.
A websocket that arrives later on a keep-alive connection still works, through Quart's ``/ws``.

This mirrors ``hypercorn.trio.run.worker_serve`` (lifespan, worker context, one TCPServer per
connection) for plain-TCP binds; the engine serves no TLS itself (a proxy in front does).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState, LifespanState
from hypercorn.utils import repr_socket_addr, wrap_app

from frontdesk.engine.edge.chat_door import ChatDoor, ChatHandler, could_be_chat, is_chat_request
from frontdesk.engine.edge.websocket import Handshake, SocketClosed
from frontdesk.engine.runtime.config import MAX_JSON_BODY_BYTES

log = logging.getLogger(__name__)

WEBSOCKET_PREFIX = b"GET /ws"
MAX_HEAD_BYTES = 16384
HEAD_TIMEOUT_S = 10.0

WebsocketHandler = Callable[[Handshake], Awaitable[None]]


class Replay(trio.abc.HalfCloseableStream):
    """A socket stream that first gives back the bytes the listener already read."""

    def __init__(self, stream: trio.SocketStream, head: bytes):
        self._stream = stream
        self._head = head
        self.socket = stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return bytes(await self._stream.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


def is_websocket_upgrade(head: bytes) -> bool:
    """``GET /ws`` (any query) with an ``Upgrade: websocket`` header."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[1].split(b"?", 1)[0] != b"/ws":
        return False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False


async def read_head(stream: trio.SocketStream) -> bytes:
    """Bytes up to the end of the request head, or fewer once they cannot start ``GET /ws``
    (a chat request is known by its request line: the chat door reads the rest)."""
    head = b""
    with trio.move_on_after(HEAD_TIMEOUT_S):
        while b"\r\n\r\n" not in head and len(head) < MAX_HEAD_BYTES:
            if not WEBSOCKET_PREFIX.startswith(head[:len(WEBSOCKET_PREFIX)]) and not could_be_chat(head):
                break
            if is_chat_request(head):
                break
            data = await stream.receive_some(MAX_HEAD_BYTES)
            if not data:
                break
            head += data
    return head


async def serve(app: Any, config: HypercornConfig, on_websocket: WebsocketHandler, on_chat: ChatHandler | None = None,
                task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``config.bind`` until cancelled; ``task_status.started`` with the bound URLs."""
    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    lifespan_state: LifespanState = {}
    lifespan = Lifespan(wrapped, config, lifespan_state)
    context = WorkerContext(None)

    async def connection(stream: trio.SocketStream) -> None:
        async def to_hypercorn(already_read: bytes) -> None:
            state = ConnectionState(lifespan_state.copy())
            await TCPServer(wrapped, config, context, state, cast(Any, Replay(stream, already_read)))

        try:
            head = await read_head(stream)
            if not head:
                return
            if is_websocket_upgrade(head):
                handshake = Handshake(stream, head)
                if await handshake.read():
                    await on_websocket(handshake)
                return
            if on_chat is not None and is_chat_request(head):
                await ChatDoor(stream, on_chat, to_hypercorn, MAX_JSON_BODY_BYTES).serve(head)
                return
            await to_hypercorn(head)
        except (trio.BrokenResourceError, trio.ClosedResourceError, SocketClosed):
            pass
        except Exception:   # one connection's failure must not stop the listener
            log.exception("connection failed")
        finally:
            await stream.aclose()

    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        sockets = config.create_sockets()
        listeners = []
        binds = []
        for sock in sockets.insecure_sockets:
            sock.listen(config.backlog)
            listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
            binds.append(f"http://{repr_socket_addr(sock.family, sock.getsockname())}")
        try:
            async with trio.open_nursery() as server_nursery:
                await server_nursery.start(trio.serve_listeners, connection, listeners)
                task_status.started(binds)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(config.graceful_timeout):
                await context.terminated.set()
                # the app's lifespan ends with this cancellation too: its channel may be closed
                with suppress(trio.ClosedResourceError, trio.BrokenResourceError):
                    await lifespan.wait_for_shutdown()
            lifespan_nursery.cancel_scope.cancel()
