"""The conversation script both targets share: when customers send, how agents answer, how it ends.

One ``Conv`` is one conversation as the generator sees it. The customer side (``talk``) sends
either closed loop (next message when the agent's reply came, after ``customer_think_s``) or open
loop (at SCHEDULED times, ``rate / conversations`` per second each, uniformly spaced or Poisson;
latency counts from the scheduled time, so a late generator or a slow server cannot hide). The
agent side (``answer``) replies to every customer message after ``reply_delay_s`` and, after
``conv.limit`` replies (``exchanges``; random for a slot's first chat, so that slots filled
together do not all end together), ends the chat. ``StartGate`` holds every conversation of a
segment silent until all slots are filled. Targets differ only in how a frame is sent and read
(``engine_sim.py``, ``relay_sim.py``).

A message's text carries its token (``b:<token> <filler>``): the engine does not echo a
``client_id`` to the other side, so the receiver finds the token in the text. Customer tokens are
``<conversation serial>.<k>``; the agent's reply to one is ``r`` + that token.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trio

from .config import LoadConfig
from .stats import Recorder

SendFn = Callable[[str, float], Awaitable[None]]   # (token, start time) -> frame sent
TOKEN_PREFIX = "b:"


def message_text(token: str, size: int) -> str:
    head = f"{TOKEN_PREFIX}{token} "
    return head + "x" * max(0, size - len(head))


def token_of(text: str) -> str | None:
    if not text.startswith(TOKEN_PREFIX):
        return None
    return text[len(TOKEN_PREFIX):].split(" ", 1)[0]


@dataclass(eq=False)
class Conv:
    serial: int
    limit: int = 0            # the agent ends the chat after this many replies (0 = never)
    cid: str = ""
    customer_token: str = ""
    joined: trio.Event = field(default_factory=trio.Event)
    ended: trio.Event = field(default_factory=trio.Event)
    replies: int = 0          # agent replies the customer has seen
    exchanges: int = 0        # customer messages the agent has seen
    _changed: trio.Event = field(default_factory=trio.Event)

    @property
    def question_token(self) -> str:
        return f"q{self.serial}"

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def replied(self) -> None:
        self.replies += 1
        self._wake()

    def end(self) -> None:
        self.ended.set()
        self._wake()

    async def wait_replies(self, n: int, deadline: float) -> bool:
        """True once ``n`` replies arrived; False on ended or at ``deadline``."""
        while self.replies < n and not self.ended.is_set():
            if trio.current_time() >= deadline:
                return False
            with trio.move_on_at(deadline):
                await self._changed.wait()
        return self.replies >= n


class StartGate:
    """Conversations of a segment wait here, ready (agent joined) but silent, until every slot is filled.

    Filling 1,000 chats takes seconds; if the first ones started talking at once, the rest would
    be created under load and the measured window would still contain the ramp.
    """

    def __init__(self) -> None:
        self.go = trio.Event()
        self.filled = trio.Event()
        self.target = 0
        self.ready = 0

    def reset(self, target: int) -> None:
        self.go, self.filled, self.target, self.ready = trio.Event(), trio.Event(), target, 0
        if target <= 0:
            self.filled.set()

    async def arrive(self) -> None:
        self.ready += 1
        if self.ready >= self.target:
            self.filled.set()
        await self.go.wait()


@dataclass(frozen=True)
class Plan:
    """The parts of ``LoadConfig`` the script needs, with the per-conversation send rate worked out."""

    mode: str
    exchanges: int
    per_conversation_rate: float
    poisson_sends: bool
    customer_think_s: float
    reply_delay_s: float
    accept_delay_s: float
    timeout_s: float
    text_bytes: int

    @classmethod
    def of(cls, cfg: LoadConfig) -> Plan:
        per_conversation = cfg.conv_rate if cfg.conv_rate > 0 else cfg.rate / max(1, cfg.conversations)
        return cls(cfg.mode, cfg.exchanges, per_conversation, cfg.send_process == "poisson",
                   cfg.customer_think_s, cfg.reply_delay_s, cfg.accept_delay_s, cfg.timeout_s, cfg.text_bytes)


async def talk(conv: Conv, send: SendFn, plan: Plan, rec: Recorder, rng: random.Random,
               running: Callable[[], bool]) -> int:
    """The customer's side of one conversation; returns how many messages it sent.

    Stops when ``running()`` turns false, the conversation ended, ``conv.limit`` messages were
    sent, or (closed loop) a reply did not come within the timeout. The caller waits for the
    replies still in flight before it ends the chat.
    """
    k = 0
    limit = conv.limit
    if plan.mode == "closed":
        while running() and not conv.ended.is_set() and (limit == 0 or k < limit):
            await send(f"{conv.serial}.{k}", trio.current_time())
            k += 1
            if not await conv.wait_replies(k, trio.current_time() + plan.timeout_s):
                return k
            if plan.customer_think_s > 0:
                await trio.sleep(plan.customer_think_s)
        return k
    interval = 1.0 / plan.per_conversation_rate
    due = trio.current_time() + rng.uniform(0.0, interval)
    while running() and not conv.ended.is_set() and (limit == 0 or k < limit):
        await trio.sleep_until(due)
        if not running() or conv.ended.is_set():
            return k
        now = trio.current_time()
        if rec.in_window(due):
            rec.sample("send_lag", (now - due) * 1000)
        await send(f"{conv.serial}.{k}", due)
        k += 1
        due += rng.expovariate(plan.per_conversation_rate) if plan.poisson_sends else interval
    return k


def first_limit(plan: Plan, rng: random.Random) -> int:
    """The length of a slot's FIRST conversation: random, so that slots filled together do not all end together."""
    return rng.randint(1, plan.exchanges) if plan.exchanges > 0 else 0


async def answer(conv: Conv, token: str, now: float, plan: Plan, reply: SendFn,
                 finish: Callable[[], Awaitable[None]], spawn: Callable[..., object]) -> None:
    """The agent got customer message ``token``: reply (after the think time); end after the last exchange."""
    conv.exchanges += 1
    last = conv.limit > 0 and conv.exchanges >= conv.limit

    async def respond(due: float) -> None:
        if due > trio.current_time():
            await trio.sleep_until(due)
        await reply("r" + token, due)
        if last:
            await finish()

    if plan.reply_delay_s > 0:
        spawn(respond, now + plan.reply_delay_s)
    else:
        await respond(now)
