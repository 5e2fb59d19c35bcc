"""One customer token flooding its chat with large messages, in the middle of a steady run.

A memory bound is believable only when one client cannot push the engine past it: this customer
opens a chat like any other, waits for an agent, then sends ``flood_messages`` messages of
``flood_chars`` characters each (10,000, the protocol's largest) as fast as the engine acks them
(``IN_FLIGHT`` unacked at a time), ends the chat and closes. The steady conversations go on
around it, so the report can say what the engine's memory did during the flood and where it
settled afterwards (``memory.py``).

The flooding chat is not one of the measured conversations: its question and texts carry no
token of ``traffic.py``, so the simulated agent accepts it but neither answers nor times it, and
its messages count in no latency. What went wrong is counted in the engine's errors as
``flood: ...``.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio
from trio_websocket import ConnectionClosed, HandshakeError

from ..latency import QUEUE
from .context import RunContext
from .engine_sim import EngineWorld
from .http_lanes import LaneError
from .wsio import expect, open_ws, send_json

IN_FLIGHT = 8                   # sends the flooding customer keeps unacked
AT_FRACTION = 1 / 3             # the flood starts this far into the measured window: the rest is for settling
WORDS = ("refund", "order", "parcel", "invoice", "delivery", "address", "broken", "please", "urgent", "again")


def flood_text(k: int, chars: int) -> str:
    """``chars`` characters of words (a search index takes words, not one endless token)."""
    head = f"flood {k} "
    body = " ".join(WORDS[(k + i) % len(WORDS)] for i in range(chars // 6 + 1))
    return (head + body)[:chars]


async def flood(ctx: RunContext, world: EngineWorld, at: float) -> None:
    """At ``at``, one customer floods its chat; its figures go to ``ctx.extra["engine"]["flood"]``."""
    cfg, rec = ctx.cfg, ctx.recorder("engine")
    figures: dict[str, Any] = {"messages": cfg.flood_messages, "chars": cfg.flood_chars, "acked": 0}
    ctx.extra.setdefault("engine", {})["flood"] = figures
    await trio.sleep_until(at)
    assert world.chat_posts is not None
    figures["started_s"] = ctx.rel(trio.current_time())
    try:
        body = {"queue": QUEUE, "name": "Flooding Customer", "email": "flood@example.com",
                "question": flood_text(0, 200)}
        r = await world.chat_posts.post("/api/chats", orjson.dumps(body))
        if r.status_code != 201:
            rec.error(f"flood: POST /api/chats {r.status_code}")
            return
        chat = r.json()
        async with open_ws(world.ws_url) as ws:
            await send_json(ws, {"type": "hello", "token": chat["customer_token"]})
            welcome = await expect(ws, "welcome", cfg.timeout_s)
            if not (welcome.get("conversation") or {}).get("participants"):
                await expect(ws, "participant_joined", cfg.timeout_s)
            figures["sending_s"] = ctx.rel(trio.current_time())
            figures["acked"] = await _send_all(ws, cfg.flood_messages, cfg.flood_chars, cfg.timeout_s)
            figures["sent_s"] = ctx.rel(trio.current_time())
            await send_json(ws, {"type": "end"})
            await expect(ws, "ended", cfg.timeout_s)
    except (LaneError, OSError, HandshakeError, ConnectionClosed, trio.TooSlowError, RuntimeError) as exc:
        rec.error(f"flood: {type(exc).__name__}")
    finally:
        figures["ended_s"] = ctx.rel(trio.current_time())


async def _send_all(ws: Any, count: int, chars: int, timeout_s: float) -> int:
    """Send ``count`` messages keeping ``IN_FLIGHT`` unacked; returns how many were acked."""
    acked = 0
    sent = 0
    while acked < count:
        while sent < count and sent - acked < IN_FLIGHT:
            await send_json(ws, {"type": "send", "client_id": f"flood-{sent}", "text": flood_text(sent, chars)})
            sent += 1
        with trio.fail_after(timeout_s):
            while True:
                frame = orjson.loads(await ws.get_message())
                if frame.get("type") == "ack":
                    acked += 1
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(f"error {frame.get('code')}")
    return acked
