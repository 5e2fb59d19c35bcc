"""State rebuilt from the database before the engine serves (PROTOCOL.md §5.10), and the
Router's state rebuilt the same way after it crashed.

At start, pending offers of the last run are void and agents start offline; every queue, waiting
chat (in its old order), open conversation with its messages, participants and refusals, and
every pending transfer comes back as it was stored. Agents who own conversations get an actor
without a socket: their reconnect grace starts now.

A pending transfer keeps its place (``_restore_transfers``): a named one stays asked of its
target (in that agent's welcome when it signs in), a queue transfer stays asked of its member or
waiting at the head of its queue, and its timer runs for the time it had left; its owner's welcome
lists it (``transfers_sent``), so "one pending transfer or invitation per conversation" holds
across the restart.

After a crash of the Router (``rebuild_router``), the running Conversation and AgentActor actors
stay; only the routing state is made again: every Conversation first handles what the Router
told it before the crash (so its writes are made), the Persister commits what is queued, and
then queues, waiting chats, owners, refusals and pending transfers are read from the database as
at start. Pending offers and invitations are void (their agents and inviters are told), transfers
stay pending with their timers, and the agents signed in are online again with the presence they
chose.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from frontdesk.core import hours
from frontdesk.engine.agents.agent import AgentActor
from frontdesk.engine.agents.roster import AgentRoster
from frontdesk.engine.conversations.conversation import Conversation
from frontdesk.engine.conversations.roster import ConversationRoster
from frontdesk.engine.routing.commands import AgentProfile, PendingTransfer, QueueConfig
from frontdesk.engine.routing.router import Router
from frontdesk.engine.runtime.outlet import deliver_to_agent
from frontdesk.engine.runtime.registry import ActorMap
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database
from frontdesk.engine.storage.persister import Persister
from frontdesk.engine.storage.supervision import all_supervisors

log = logging.getLogger(__name__)

# How long a rebuild waits for one Conversation to handle what came before; one that is stuck
# (its own write waits for the database) is read from its rows as they are.
SETTLE_S = 2.0


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
                                    row["identity_secret"], tuple(row["required_fields"] or ()),
                                    row["mode"], row["consent_notice"], row["transcript_mails"],
                                    row["sender_name"])
    return configs


async def restore(db: Database, router: Router, conversations: ConversationRoster, agents: AgentRoster) -> None:
    """Rebuild queues, open conversations and agent load from the database (before serving)."""
    await queries.void_pending_offers(db)
    await queries.expire_pending_invitations(db)      # their timers died with the last process
    await queries.reset_agent_status(db)
    chosen: dict[str, tuple[str, str]] = {}  # agent id -> (email, the presence it last chose)
    router.restore_queues(await load_queue_configs(db, strict=False))
    for row in await queries.all_agents(db):
        chosen[str(row["id"])] = (row["email"], row["presence"])
        router.restore_agent(AgentProfile(str(row["id"]), row["name"], frozenset(row["queues"]), row["capacity"]))
    await _restore_supervisors(db, router, chosen)
    rows = await queries.open_conversations(db)
    ids = [str(r["id"]) for r in rows]
    owners: set[str] = set()
    for r, record in zip(rows, await conversations.records(rows), strict=True):
        cid = record.id
        info: dict[str, Any] = {"customer": record.customer_info, "question": record.question, **_times(r)}
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
    await _restore_transfers(db, router)
    for agent_id in sorted(owners):
        agent = router.state.agents.get(agent_id)
        if agent is None:
            continue
        email, presence = chosen.get(agent_id, ("", "available"))
        role = "supervisor" if agent_id in router.supervisors else "agent"
        await agents.restore(AgentProfile(agent.id, agent.name, agent.queues, agent.capacity, email, role), presence)
    if rows:
        log.info("restored %d open conversations", len(rows))


async def _restore_supervisors(db: Database, router: Router, chosen: dict[str, tuple[str, str]]) -> None:
    """Supervisors are staff in the Router without queues: one who took a conversation over or
    joined it is its participant again after a restart, like an agent."""
    for row in await all_supervisors(db):
        chosen[str(row["id"])] = (row["email"], "available")
        router.restore_agent(AgentProfile(str(row["id"]), row["name"], frozenset(), row["capacity"], row["email"],
                                          role="supervisor"))


async def _restore_transfers(db: Database, router: Router) -> None:
    """Every pending transfer, after the owners of the open conversations are known."""
    for r in await queries.pending_transfers(db):
        router.restore_transfer(PendingTransfer(
            r["id"], r["conversation_id"], r["from_id"], r["to_id"] if r["to_queue"] is None else None,
            r["to_queue"], r["note"], r["to_id"], tuple(r["asked"] or ()), r["expires_at"]))


def _times(row: Any) -> dict[str, float]:
    """When a running conversation started to wait, or was assigned (wall clock): what the floor shows."""
    times = {"since": row["created_at"].timestamp()}
    if row["accepted_at"] is not None:
        times["assigned_at"] = row["accepted_at"].timestamp()
    return times


async def rebuild_router(db: Database, persister: Persister, router: Router, conversations: ActorMap[Conversation],
                         agents: ActorMap[AgentActor]) -> Router:
    """The Router's state made again after it crashed, from the running actors and the database."""
    told = router.reset()
    views: dict[str, dict[str, Any]] = {}
    for cid, conversation in conversations.items():
        with trio.move_on_after(SETTLE_S):
            views[cid] = await conversation.settled() or {}
    await persister.drain()
    await queries.void_pending_offers(db)
    await queries.expire_pending_invitations(db)
    router.restore_queues(await load_queue_configs(db, strict=False))
    chosen: dict[str, str] = {}
    for row in await queries.all_agents(db):
        chosen[str(row["id"])] = row["presence"]
        router.restore_agent(AgentProfile(str(row["id"]), row["name"], frozenset(row["queues"]), row["capacity"]))
    await _restore_supervisors(db, router, {})
    rows = await queries.open_conversations(db)
    routed = []
    for r in rows:
        cid = str(r["id"])
        running = conversations.get(cid)
        if running is None:     # restarting or parked: its roster tells the Router
            continue
        routed.append(cid)
        info: dict[str, Any] = {"customer": running.customer_info, "question": running.question, **_times(r)}
        if r["status"] == "queued":
            router.restore_waiting(cid, r["queue"], r["queue_key"], info)
        elif r["owner_id"] is not None:
            invited = [p["id"] for p in views.get(cid, {}).get("participants", ()) if p["role"] == "invited"]
            router.restore_open(cid, r["queue"], str(r["owner_id"]), info, invited, r["queue_key"])
    for cid, agent_ids in (await queries.refusals_of(db, routed) if routed else {}).items():
        router.state.restore_exclusions(cid, agent_ids)
    await _restore_transfers(db, router)     # before the agents are back: their room counts the transfers
    for agent_id, actor in agents.items():
        if actor.online:
            router.reconnect_agent(agent_id, chosen.get(agent_id, "available"), actor.connected)
    for agent_id, frame in told:
        deliver_to_agent(agents, agent_id, frame)
    log.info("the Router's state is rebuilt: %d conversations, %d agents online", len(routed),
             sum(1 for _, a in agents.items() if a.online))
    return router
