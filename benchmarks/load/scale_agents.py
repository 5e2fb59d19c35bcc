"""The scale scenario's agents: ``engine_sim.EngineWorld``'s agents, who accept every offer, and
then set the conversation ``pending`` at once, as an agent who answered sets it aside; that frees
their room (PROTOCOL.md §7), so a few dozen agents take hundreds of chats a second.

An offer names what started it in its ``question``: a new chat's pre-chat question (``q<serial>``,
timed by ``EngineWorld`` as the ``offer`` path) or the customer's message that reopened a resting
conversation (``o<n>``, timed here as ``reopen_offer`` from its send).
"""

from __future__ import annotations

from typing import Any

from trio_websocket import WebSocketConnection

from .engine_sim import EngineWorld, SimAgent
from .traffic import token_of
from .wsio import send_json

REOPEN_PREFIX = "o"


def reopen_token(n: int) -> str:
    return f"{REOPEN_PREFIX}{n}"


class ScaleAgents(EngineWorld):
    async def _agent_event(self, agent: SimAgent, ws: WebSocketConnection, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "offer":
            token = token_of(str(frame.get("question") or ""))
            if token is not None and token.startswith(REOPEN_PREFIX):
                self.rec.arrived("reopen_offer", token, now)
        await super()._agent_event(agent, ws, frame, now)
        if kind == "conversation" and frame.get("status") == "open":
            await send_json(ws, {"type": "set_status", "conversation_id": frame["conversation_id"],
                                 "status": "pending"})
