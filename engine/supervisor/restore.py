"""State rebuilt from the database before the engine serves (PROTOCOL.md §5.10).

Pending offers of the last run are void and agents start offline; every queue, waiting chat
(in its old order), open conversation with its messages, participants and refusals comes back
as it was stored. Agents who own conversations get an actor without a socket: their reconnect
grace starts now.
"""

from __future__ import annotations

import logging
from typing import Any

from frontdesk.core import hours
from frontdesk.engine.agents.roster import AgentRoster
from frontdesk.engine.conversations.roster import ConversationRoster
from frontdesk.engine.routing.commands import AgentProfile, QueueConfig
from frontdesk.engine.routing.router import Router
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database

log = logging.getLogger(__name__)


class BadConfiguration(Exception):
    """Stored configuration the engine cannot run with (e.g. a malformed opening-hours schedule)."""


async def load_queue_configs(db: Database, *, strict: bool) -> dict[str, QueueConfig]:
    """Every queue's settings. A malformed schedule raises BadConfiguration when ``strict``
    (at start); later (a bad edit while running) that queue keeps being served as closed
    and the error is logged."""
    configs = {}
    for row in await queries.all_queues(db):
        name = row["name"]
        try:
            schedule = hours.parse_schedule(row["opening_hours"])
        except hours.ScheduleError as exc:
            message = f"queue {name!r}: opening_hours.{exc.field}: {exc.message}"
            if strict:
                raise BadConfiguration(message) from exc
            log.error("%s (the queue is closed until this is fixed)", message)
            schedule = hours.parse_schedule({"never": True})
        configs[name] = QueueConfig(name, schedule, row["closed_message"], row["faq_suggestions"],
                                    row["identity_secret"], tuple(row["required_fields"] or ()))
    return configs


async def restore(db: Database, router: Router, conversations: ConversationRoster, agents: AgentRoster) -> None:
    """Rebuild queues, open conversations and agent load from the database (before serving)."""
    await queries.void_pending_offers(db)
    await queries.reset_agent_status(db)
    chosen: dict[str, tuple[str, str]] = {}  # agent id -> (email, the presence it last chose)
    router.restore_queues(await load_queue_configs(db, strict=False))
    for row in await queries.all_agents(db):
        chosen[str(row["id"])] = (row["email"], row["presence"])
        router.restore_agent(AgentProfile(str(row["id"]), row["name"], frozenset(row["queues"]), row["capacity"]))
    rows = await queries.open_conversations(db)
    ids = [str(r["id"]) for r in rows]
    owners: set[str] = set()
    for r, record in zip(rows, await conversations.records(rows), strict=True):
        cid = record.id
        info: dict[str, Any] = {"customer": record.customer_info, "question": record.question}
        if r["status"] == "queued":
            router.restore_waiting(cid, r["queue"], r["queue_key"], info)
            record.position = router.state.position(cid)
        elif r["owner_id"] is not None:
            invited = [p.agent_id for p in record.participants.values() if p.role == "invited"]
            router.restore_open(cid, r["queue"], str(r["owner_id"]), info, invited, r["queue_key"])
            owners.add(str(r["owner_id"]))
        conversations.open(record)
    for cid, agent_ids in (await queries.refusals_of(db, ids) if ids else {}).items():
        router.state.restore_exclusions(cid, agent_ids)
    for agent_id in sorted(owners):
        agent = router.state.agents.get(agent_id)
        if agent is None:
            continue
        email, presence = chosen.get(agent_id, ("", "available"))
        await agents.restore(AgentProfile(agent.id, agent.name, agent.queues, agent.capacity, email), presence)
    if rows:
        log.info("restored %d open conversations", len(rows))
