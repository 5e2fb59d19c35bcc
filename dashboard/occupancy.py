"""Agent occupancy from the seconds ``db.occupancy_by_agent`` measures (pure, no database).

- staffed time: the agent was available, or in at least one chat (a chat goes on when its agent
  turns away, and that time is work too);
- occupancy = time in at least one chat ÷ staffed time (the contact-centre "occupancy": busy
  share of the time the agent could work);
- chats at once = chat-seconds ÷ time in at least one chat;
- slot use = chat-seconds ÷ (staffed time × capacity): how full the agent's chat slots were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Occupancy:
    agent: str
    capacity: int
    available_h: float
    chatting_h: float
    staffed_h: float
    occupancy: float | None
    chats_at_once: float | None
    slot_use: float | None


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def of_agent(row: Mapping[str, Any]) -> Occupancy:
    available, chatting, staffed = (float(row[k] or 0) for k in ("available_s", "chatting_s", "staffed_s"))
    chat_s, capacity = float(row["chat_s"] or 0), int(row["capacity"])
    return Occupancy(str(row["agent"]), capacity, available / 3600, chatting / 3600, staffed / 3600,
                     _ratio(chatting, staffed), _ratio(chat_s, chatting), _ratio(chat_s, staffed * capacity))


def total(rows: Iterable[Mapping[str, Any]]) -> Occupancy:
    """Every agent together: sums of the seconds, then the same ratios."""
    rows = list(rows)
    sums = {k: sum(float(r[k] or 0) for r in rows) for k in ("available_s", "chatting_s", "staffed_s", "chat_s")}
    slots = sum(float(r["staffed_s"] or 0) * int(r["capacity"]) for r in rows)
    return Occupancy("all agents", 0, sums["available_s"] / 3600, sums["chatting_s"] / 3600,
                     sums["staffed_s"] / 3600, _ratio(sums["chatting_s"], sums["staffed_s"]),
                     _ratio(sums["chat_s"], sums["chatting_s"]), _ratio(sums["chat_s"], slots))
