"""The floor as a supervisor sees it: every running conversation (waiting or assigned) with its
wait and owner, and every agent with presence and load. Pure: read from the Router's state.

A supervisor's ``welcome`` carries the whole floor (``floor(...)``); afterwards the Router sends
what changed since its last position tick as one ``floor`` event (``changes(...)``): the entries
of conversations that started, were assigned or changed hands, the ids of those that left the
floor (ended, or a messaging conversation set aside), and the agents whose presence or load
changed. Times are wall-clock (``time.time()``) in the state, ISO 8601 on the wire.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from frontdesk.core.wire import iso
from frontdesk.engine.routing.decisions import OFFLINE, RoutingState


def _at(wall: float | None) -> str | None:
    return None if wall is None else iso(datetime.fromtimestamp(wall, UTC))


def conversation_entry(state: RoutingState, conversation_id: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """One running conversation: queue, status (``queued`` | ``active``), customer, owner and the
    other participants, since when it waits (queued) or when it was assigned (active)."""
    owner = state.owner_of.get(conversation_id)
    participants = []
    if owner is not None:
        participants.append({"id": owner[0], "name": state.agents[owner[0]].name, "role": "owner"})
    for agent_id in sorted(state.joined_by.get(conversation_id, ())):
        participants.append({"id": agent_id, "name": state.agents[agent_id].name, "role": "invited"})
    waiting = conversation_id in state.waiting
    return {"conversation_id": conversation_id, "queue": info.get("queue"),
            "status": "queued" if waiting else "active", "customer": info.get("customer"),
            "owner": participants[0] if owner is not None else None, "participants": participants,
            "waiting_since": _at(info.get("since")) if waiting else None,
            "assigned_at": None if waiting else _at(info.get("assigned_at"))}


def agent_entry(state: RoutingState, agent_id: str) -> dict[str, Any]:
    """One agent: presence (``offline`` while not connected), load and capacity, queues."""
    a = state.agents[agent_id]
    return {"id": a.id, "name": a.name, "presence": a.presence if a.connected else OFFLINE,
            "open_conversations": len(a.open) + len(a.joined), "pending_offers": len(a.offers),
            "capacity": a.capacity, "queues": sorted(a.queues)}


def floor(state: RoutingState, info: Mapping[str, Mapping[str, Any]], supervisors: Collection[str]) -> dict[str, Any]:
    """The whole floor, waiting chats first (longest waiting first), agents by name."""
    running = [conversation_entry(state, cid, i) for cid, i in info.items()
               if cid in state.waiting or cid in state.owner_of]
    running.sort(key=lambda e: (e["status"] != "queued", e["waiting_since"] or e["assigned_at"] or ""))
    agents = [agent_entry(state, a.id) for a in state.agents.values() if a.id not in supervisors]
    agents.sort(key=lambda e: (e["name"].lower(), e["id"]))
    return {"conversations": running, "agents": agents}


def changes(state: RoutingState, info: Mapping[str, Mapping[str, Any]], touched: Iterable[str],
            agents: Iterable[str]) -> dict[str, Any] | None:
    """The ``floor`` event for the conversations ``touched`` and the ``agents`` changed; None when
    nothing changed. A touched conversation no longer running is listed in ``removed``."""
    entries, removed = [], []
    for cid in sorted(touched):
        i = info.get(cid)
        if i is not None and (cid in state.waiting or cid in state.owner_of):
            entries.append(conversation_entry(state, cid, i))
        else:
            removed.append(cid)
    agent_entries = [agent_entry(state, a) for a in sorted(agents) if a in state.agents]
    if not entries and not removed and not agent_entries:
        return None
    return {"type": "floor", "conversations": entries, "removed": removed, "agents": agent_entries}
