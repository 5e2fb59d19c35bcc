"""A websocket client made by hand for the edge tests: wsproto over a plain trio TCP stream, so a
test can do what an ordinary client library never does (fragment frames, send a control ping,
split a request head, upgrade on a keep-alive connection that carried plain HTTP first and so
reach Quart's ``/ws`` instead of the listener's own websocket server)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson
import trio
from conftest import Engine
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Event, Message, RejectConnection, Request, TextMessage


class RawClient:
    """A websocket client made by hand: wsproto over a plain trio TCP stream."""

    def __init__(self, stream: trio.SocketStream):
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: list[Event] = []
        self.text: list[str] = []

    @classmethod
    async def open(cls, engine: Engine) -> RawClient:
        url = urlsplit(engine.base)
        return cls(await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80))

    async def handshake(self, host: str = "localhost", extra: list[tuple[bytes, bytes]] | None = None,
                        chunk: int | None = None) -> Event:
        data = self.ws.send(Request(host=host, target="/ws", extra_headers=extra or []))
        step = chunk or len(data)
        for i in range(0, len(data), step):
            await self.stream.send_all(data[i:i + step])
        return await self.next_event(AcceptConnection, RejectConnection)

    async def next_event(self, *kinds: type[Event], timeout: float = 5.0) -> Event:
        with trio.fail_after(timeout):
            while True:
                for event in self.ws.events():
                    self.events.append(event)
                    if isinstance(event, TextMessage):
                        self.text.append(event.data)
                    if isinstance(event, kinds):
                        return event
                data = await self.stream.receive_some(65536)
                self.ws.receive_data(data or None)
                if not data:
                    raise EOFError("the server closed the connection")

    async def send(self, *events: Event) -> None:
        await self.stream.send_all(b"".join(self.ws.send(e) for e in events))

    async def frame(self, type_: str | None = None) -> dict[str, Any]:
        """The next JSON frame (of ``type_``)."""
        while True:
            while self.text:
                frame = dict(orjson.loads(self.text.pop(0)))
                if type_ is None or frame["type"] == type_:
                    return frame
            await self.next_event(TextMessage)


def fragments(obj: dict[str, Any], pieces: int) -> list[Event]:
    text = orjson.dumps(obj).decode()
    size = max(1, len(text) // pieces)
    parts = [text[i:i + size] for i in range(0, len(text), size)]
    return [Message(data=p, message_finished=i == len(parts) - 1) for i, p in enumerate(parts)]


async def read_response(stream: trio.SocketStream) -> bytes:
    """One HTTP response with a content-length, read whole; its head is returned."""
    with trio.fail_after(5):
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += await stream.receive_some(4096)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += await stream.receive_some(4096)
    return head
