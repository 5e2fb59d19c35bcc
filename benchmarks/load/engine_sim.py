"""Simulated agents and customers speaking protocol v1 to the engine (PROTOCOL.md §3–4).

Agents sign in (HTTP for the first few, database tokens for the rest: ``agents_db.py``), say
hello, go ``available`` and stay connected for the whole run. They accept every offer after
``accept_delay_s``, answer every customer message (``traffic.answer``) and end the chat after
``exchanges`` replies. A customer is one conversation: pre-chat ``POST /api/chats``, a websocket
with ``hello``, wait until an agent joined, then ``traffic.talk``; at the end it waits for its
replies in flight, sends ``end`` and closes.

Paths measured here: ``create`` (POST answered), ``offer`` (just before the POST → ``offer`` on
an agent socket, matched by a token in the question), ``accept`` (``accept`` sent →
``conversation``), ``connect`` (socket opened → ``welcome``), ``login``, and the message paths
``c2a``, ``ack``, ``a2c``, ``agent_ack``. Anything unexpected (``error`` events by code, sockets
closed by the engine, ``offer_revoked``, ``requeued``, chats ended by the system) is counted in
``Recorder.errors``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection

from ..latency import BENCH_PASSWORD, QUEUE
from .engine_metrics import scrape
from .http_lanes import KEEPALIVE_EXPIRY_S, HttpLanes, LaneError
from .stats import Recorder
from .traffic import Conv, Plan, StartGate, answer, message_text, talk, token_of
from .wsio import close_code, expect, open_ws, send_json

HTTP_TIMEOUT_S = 10.0
HTTP_CONNECTIONS = 64
SIGN_IN_CONCURRENCY = 16
ERROR_PAUSE_S = 1.0          # a conversation that failed to start waits this long before the next


def limits(connections: int) -> httpx.Limits:
    """The shared httpx client's pool (sign-in, metrics); its connections expire before the
    engine's 5-s keep-alive closes them (``http_lanes.KEEPALIVE_EXPIRY_S``)."""
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                        keepalive_expiry=KEEPALIVE_EXPIRY_S)


@dataclass(eq=False)
class SimAgent:
    email: str
    token: str = ""
    ws: WebSocketConnection | None = None
    available: trio.Event = field(default_factory=trio.Event)


class EngineWorld:
    """Everything the generator knows about the engine side; one per run."""

    def __init__(self, base: str, plan: Plan, rec: Recorder, rng: random.Random, text_bytes: int):
        self.base = base
        self.ws_url = base.replace("http", "ws", 1) + "/ws"
        self.plan = plan
        self.rec = rec
        self.rng = rng
        self.text_bytes = text_bytes
        self.queue = QUEUE                            # where the chats' POSTs go
        self.consent = False                          # the queue shows a consent notice: customers agree
        self.agents: list[SimAgent] = []
        self.running = False
        self.closing = False
        self.open_conversations = 0
        self.gate = StartGate()
        self.http: httpx.AsyncClient | None = None
        self.chat_posts: HttpLanes | None = None     # POST /api/chats goes here (http_lanes.py)
        self._nursery: trio.Nursery | None = None
        self._by_question: dict[str, Conv] = {}
        self._by_cid: dict[str, Conv] = {}
        self._created_at: dict[str, float] = {}       # question token -> just before the POST
        self._accept_sent: dict[str, float] = {}      # conversation id -> accept sent
        self.offered_at: dict[str, float] = {}        # conversation id -> its (first) offer arrived
        self.accepted_at: dict[str, float] = {}       # conversation id -> its ``conversation`` event arrived
        self.changed = trio.Event()                   # set (and replaced) whenever an offer or accept arrived

    # ---- agents ------------------------------------------------------------------------------

    async def sign_in(self, nursery: trio.Nursery, emails: list[str], tokens: dict[str, str],
                      timeout_s: float) -> None:
        """Connect every agent (kept open in ``nursery`` until ``close``) and wait until all are available."""
        self._nursery = nursery
        self.agents = [SimAgent(e, tokens.get(e, "")) for e in emails]
        limiter = trio.CapacityLimiter(SIGN_IN_CONCURRENCY)

        async def one(agent: SimAgent) -> None:
            async with limiter:
                await nursery.start(self._agent_task, agent)

        with trio.fail_after(timeout_s):
            async with trio.open_nursery() as starters:
                for agent in self.agents:
                    starters.start_soon(one, agent)
            for agent in self.agents:
                await agent.available.wait()

    async def _login(self, agent: SimAgent) -> None:
        assert self.http is not None
        t0 = trio.current_time()
        r = await self.http.post("/api/agents/login", json={"email": agent.email, "password": BENCH_PASSWORD})
        if r.status_code != 200:
            raise RuntimeError(f"login of {agent.email}: {r.status_code} {r.text[:200]}")
        self.rec.setup("login", t0, trio.current_time(), always=True)
        agent.token = str(r.json()["token"])

    async def _agent_task(self, agent: SimAgent, *, task_status: trio.TaskStatus[None]) -> None:
        if not agent.token:
            await self._login(agent)
        t0 = trio.current_time()
        async with open_ws(self.ws_url) as ws:
            agent.ws = ws
            await send_json(ws, {"type": "hello", "token": agent.token})
            await expect(ws, "welcome", HTTP_TIMEOUT_S)
            self.rec.setup("agent_connect", t0, trio.current_time(), always=True)
            await send_json(ws, {"type": "presence", "state": "available"})
            task_status.started()
            await self._agent_reader(agent, ws)

    async def _agent_reader(self, agent: SimAgent, ws: WebSocketConnection) -> None:
        try:
            while True:
                raw = await ws.get_message()
                now = trio.current_time()
                await self._agent_event(agent, ws, orjson.loads(raw), now)
        except ConnectionClosed as exc:
            if not self.closing:
                self.rec.error(f"agent socket closed by the engine ({close_code(exc)})")

    async def _agent_event(self, agent: SimAgent, ws: WebSocketConnection, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        rec = self.rec
        if kind == "message":
            if (frame.get("sender") or {}).get("kind") != "customer":
                return
            token = token_of(frame.get("text") or "")
            conv = self._by_cid.get(str(frame.get("conversation_id")))
            if token is None or conv is None:
                return
            rec.arrived("c2a", token, now)
            await answer(conv, token, now, self.plan, self._agent_reply(ws, conv), self._agent_end(ws, conv),
                         self._spawn)
        elif kind == "ack":
            rec.arrived("agent_ack", str(frame.get("client_id")), now)
        elif kind == "offer":
            cid = str(frame["conversation_id"])
            question = token_of(str(frame.get("question") or ""))
            t0 = self._created_at.get(question or "")
            if t0 is not None:
                rec.setup("offer", t0, now)
            rec.counters["offers"] += 1
            self.offered_at.setdefault(cid, now)
            self._pulse()
            if self.plan.accept_delay_s > 0:
                self._spawn(self._accept, ws, cid, str(frame["offer_id"]), now + self.plan.accept_delay_s)
            else:
                await self._accept(ws, cid, str(frame["offer_id"]), now)
        elif kind == "conversation":
            self.accepted_at.setdefault(str(frame.get("conversation_id")), now)
            self._pulse()
            t0 = self._accept_sent.pop(str(frame.get("conversation_id")), None)
            if t0 is not None:
                rec.setup("accept", t0, now)
        elif kind == "presence":
            if frame.get("state") == "available":
                agent.available.set()
            else:
                rec.error(f"agent presence changed by the engine: {frame.get('state')}")
        elif kind == "ended":
            if frame.get("reason") != "ended" and not self.closing:
                rec.error(f"agent got ended ({frame.get('by')}, {frame.get('reason')})")
        elif kind == "error":
            rec.error(f"agent error event: {frame.get('code')}")
        elif kind in ("offer_revoked", "requeued", "invitation"):
            rec.error(f"agent got {kind} ({frame.get('reason', '')})")

    def _pulse(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    async def _accept(self, ws: WebSocketConnection, cid: str, offer_id: str, due: float) -> None:
        if due > trio.current_time():
            await trio.sleep_until(due)
        self._accept_sent[cid] = trio.current_time()
        await send_json(ws, {"type": "accept", "offer_id": offer_id})

    def _agent_reply(self, ws: WebSocketConnection, conv: Conv) -> Callable[[str, float], Any]:
        async def reply(token: str, t0: float) -> None:
            self.rec.expect("a2c", token, t0)
            self.rec.expect("agent_ack", token, t0)
            await send_json(ws, {"type": "send", "conversation_id": conv.cid, "client_id": token,
                                 "text": message_text(token, self.text_bytes)})
        return reply

    def _agent_end(self, ws: WebSocketConnection, conv: Conv) -> Callable[[], Any]:
        async def finish() -> None:
            await send_json(ws, {"type": "end", "conversation_id": conv.cid})
        return finish

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self._guarded, fn, *args)

    async def _guarded(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            await fn(*args)
        except ConnectionClosed:
            if not self.closing:
                self.rec.error("agent socket closed while sending")

    async def engine_metrics(self) -> dict[str, float]:
        assert self.http is not None
        return await scrape(self.http)

    # ---- customers ---------------------------------------------------------------------------

    async def create_chat(self, conv: Conv, t0: float | None = None) -> bool:
        """``POST /api/chats`` for ``conv``; ``t0`` (default: now) is when the chat counts as created."""
        assert self.chat_posts is not None
        q = conv.question_token
        self._by_question[q] = conv
        self._created_at[q] = t0 if t0 is not None else trio.current_time()
        body: dict[str, Any] = {"queue": self.queue, "name": f"Load Customer {conv.serial}",
                                "email": f"c{conv.serial}@example.com", "question": message_text(q, self.text_bytes)}
        if self.consent:
            body["consent"] = True
        try:
            r = await self.chat_posts.post("/api/chats", orjson.dumps(body))   # the wait for a lane counts
        except LaneError as exc:
            self.rec.error(f"POST /api/chats: {exc.kind}")
            return False
        self.rec.setup("create", self._created_at[q], trio.current_time())
        if r.status_code != 201:
            try:
                data = r.json()
                detail = str(data.get("reason") or (data.get("error") or {}).get("code") or "")
            except ValueError:
                detail = ""
            self.rec.error(f"POST /api/chats: {r.status_code} {detail}".strip())
            return False
        data = r.json()
        conv.cid, conv.customer_token = str(data["conversation_id"]), str(data["customer_token"])
        self._by_cid[conv.cid] = conv
        self.rec.counters["chats created"] += 1
        self.rec.event("chat", trio.current_time())
        return True

    def forget(self, conv: Conv) -> None:
        q = conv.question_token
        self._by_question.pop(q, None)
        self._created_at.pop(q, None)
        self._by_cid.pop(conv.cid, None)
        self._accept_sent.pop(conv.cid, None)
        self.offered_at.pop(conv.cid, None)
        self.accepted_at.pop(conv.cid, None)

    async def one_conversation(self, serial: int, limit: int) -> None:
        """One customer from pre-chat form to ``end``; every wait bounded by the plan's timeout."""
        conv = Conv(serial, limit)
        self.open_conversations += 1
        try:
            if not await self.create_chat(conv):
                await trio.sleep(ERROR_PAUSE_S)
                return
            await self._customer(conv)
        except (OSError, HandshakeError, trio.TooSlowError, RuntimeError) as exc:
            self.rec.error(f"customer: {type(exc).__name__}: {str(exc)[:80]}")
            await trio.sleep(ERROR_PAUSE_S)
        finally:
            self.open_conversations -= 1
            self.forget(conv)

    async def _customer(self, conv: Conv) -> None:
        plan, rec = self.plan, self.rec
        t0 = trio.current_time()
        async with open_ws(self.ws_url) as ws:
            await send_json(ws, {"type": "hello", "token": conv.customer_token})
            welcome = await expect(ws, "welcome", plan.timeout_s)
            rec.setup("connect", t0, trio.current_time())
            if (welcome.get("conversation") or {}).get("participants"):
                conv.joined.set()       # accepted before the customer connected
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._customer_reader, conv, ws)
                try:
                    with trio.move_on_after(plan.timeout_s):
                        await conv.joined.wait()
                    if not conv.joined.is_set():
                        rec.error("customer: no agent joined in time")
                        return
                    await self.gate.arrive()
                    sent = await talk(conv, self._customer_send(ws), plan, rec, self.rng, lambda: self.running)
                    await conv.wait_replies(sent, trio.current_time() + plan.timeout_s)
                    agent_ends = conv.limit > 0 and sent >= conv.limit     # after its last reply
                    if not conv.ended.is_set() and not agent_ends:
                        await send_json(ws, {"type": "end"})
                    with trio.move_on_after(plan.timeout_s):
                        await conv.ended.wait()
                    if not conv.ended.is_set():
                        rec.error("customer: no ended in time")
                    rec.counters["conversations finished"] += 1
                except ConnectionClosed:
                    if not conv.ended.is_set():
                        rec.error("customer socket closed while sending")
                finally:
                    nursery.cancel_scope.cancel()

    def _customer_send(self, ws: WebSocketConnection) -> Callable[[str, float], Any]:
        async def send(token: str, t0: float) -> None:
            self.rec.expect("c2a", token, t0)
            self.rec.expect("ack", token, t0)
            await send_json(ws, {"type": "send", "client_id": token, "text": message_text(token, self.text_bytes)})
        return send

    async def _customer_reader(self, conv: Conv, ws: WebSocketConnection) -> None:
        rec = self.rec
        try:
            while True:
                raw = await ws.get_message()
                now = trio.current_time()
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    rec.arrived("ack", str(frame.get("client_id")), now)
                elif kind == "message":
                    if (frame.get("sender") or {}).get("kind") == "agent":
                        token = token_of(frame.get("text") or "")
                        if token is not None:
                            rec.arrived("a2c", token, now)
                            conv.replied()
                elif kind == "participant_joined":
                    conv.joined.set()
                elif kind == "ended":
                    conv.end()
                    if frame.get("reason") != "ended":
                        rec.error(f"customer got ended ({frame.get('by')}, {frame.get('reason')})")
                elif kind == "error":
                    rec.error(f"customer error event: {frame.get('code')}")
                elif kind in ("requeued", "fallback"):
                    rec.error(f"customer got {kind}")
        except ConnectionClosed as exc:
            if not conv.ended.is_set() and not self.closing:
                rec.error(f"customer socket closed by the engine ({close_code(exc)})")
