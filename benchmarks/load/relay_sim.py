"""The same conversations against the bare relay (``benchmarks/baseline_relay.py``): the floor.

The minimal subset of the protocol: a conversation is a pair of sockets, ``/pair/<n>/a`` (the
customer) and ``/pair/<n>/b`` (the agent). Both send ``send`` frames exactly as they do to the
engine; the relay forwards them unchanged, so the receiver reads the token from the text as it
does with the engine's ``message`` events. There is no chat creation, offer or accept, and on the
bare relay no ack and no persistence: what is measured is trio + trio-websocket + loopback, with
the same generator. The durable relay (``--durable-relay``) commits each message first and sends
the sender an ack and its message back, frames the readers below read and pass over as they do
the engine's.
"After ``exchanges`` replies the chat ends" becomes: the customer closes the pair after its last
reply, and a new pair connects (the connection set-up the engine pays for a new chat, minus
HTTP).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection

from .stats import Recorder
from .traffic import Conv, Plan, StartGate, answer, message_text, talk, token_of
from .wsio import close_code, open_ws, send_json

ERROR_PAUSE_S = 1.0


class RelayWorld:
    def __init__(self, port: int, plan: Plan, rec: Recorder, rng: random.Random, text_bytes: int):
        self.url = f"ws://127.0.0.1:{port}/pair"
        self.plan = plan
        self.rec = rec
        self.rng = rng
        self.text_bytes = text_bytes
        self.running = False
        self.closing = False
        self.open_conversations = 0
        self.gate = StartGate()

    async def engine_metrics(self) -> dict[str, float]:
        return {}   # the relay has no /metrics

    async def one_conversation(self, serial: int, limit: int) -> None:
        conv = Conv(serial, limit)
        self.open_conversations += 1
        try:
            await self._pair(conv)
        except (OSError, HandshakeError, trio.TooSlowError) as exc:
            self.rec.error(f"relay pair: {type(exc).__name__}: {str(exc)[:80]}")
            await trio.sleep(ERROR_PAUSE_S)
        except ConnectionClosed as exc:
            self.rec.error(f"relay socket closed while sending ({close_code(exc)})")
        finally:
            self.open_conversations -= 1

    async def _pair(self, conv: Conv) -> None:
        plan, rec = self.plan, self.rec
        t0 = trio.current_time()
        async with open_ws(f"{self.url}/{conv.serial}/a") as a:
            rec.setup("connect", t0, trio.current_time())
            t1 = trio.current_time()
            async with open_ws(f"{self.url}/{conv.serial}/b") as b:
                rec.setup("connect", t1, trio.current_time())
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._customer_reader, conv, a)
                    nursery.start_soon(self._agent_reader, conv, b, nursery)
                    await self.gate.arrive()
                    sent = await talk(conv, self._sender(a, ("c2a",)), plan, rec, self.rng, lambda: self.running)
                    await conv.wait_replies(sent, trio.current_time() + plan.timeout_s)
                    rec.counters["conversations finished"] += 1
                    conv.end()
                    nursery.cancel_scope.cancel()

    def _sender(self, ws: WebSocketConnection, paths: tuple[str, ...]) -> Callable[[str, float], Any]:
        async def send(token: str, t0: float) -> None:
            for path in paths:
                self.rec.expect(path, token, t0)
            await send_json(ws, {"type": "send", "client_id": token, "text": message_text(token, self.text_bytes)})
        return send

    async def _customer_reader(self, conv: Conv, ws: WebSocketConnection) -> None:
        try:
            while True:
                raw = await ws.get_message()
                now = trio.current_time()
                token = token_of(orjson.loads(raw).get("text") or "")
                if token is not None and token.startswith("r"):
                    self.rec.arrived("a2c", token, now)
                    conv.replied()
        except ConnectionClosed as exc:
            if not conv.ended.is_set() and not self.closing:
                self.rec.error(f"relay customer socket closed ({close_code(exc)})")

    async def _agent_reader(self, conv: Conv, ws: WebSocketConnection, nursery: trio.Nursery) -> None:
        reply = self._sender(ws, ("a2c",))

        async def finish() -> None:
            return None   # the customer closes the pair after its last reply

        try:
            while True:
                raw = await ws.get_message()
                now = trio.current_time()
                token = token_of(orjson.loads(raw).get("text") or "")
                if token is not None and not token.startswith("r"):
                    self.rec.arrived("c2a", token, now)
                    await answer(conv, token, now, self.plan, reply, finish, nursery.start_soon)
        except ConnectionClosed as exc:
            if not conv.ended.is_set() and not self.closing:
                self.rec.error(f"relay agent socket closed ({close_code(exc)})")
