"""The root of the engine: one ``trio.run``, one nursery, every actor started in order.

``run_engine`` starts (or connects to) PostgreSQL, applies the schema, loads the demo data
when asked, rebuilds the Router's queues and the open conversations from the database
(PROTOCOL.md §5.10), then serves HTTP and websockets with hypercorn until SIGINT/SIGTERM.

Error handling: an unexpected exception in any actor propagates to this nursery and stops the
engine (after logging it with context): state that must survive is in PostgreSQL, so a
restart rebuilds it, while limping on with a dead actor would silently drop work.

Resource handling: the embedded PostgreSQL (when no URL is given) is stopped when the engine
stops; the database pool is closed shielded from cancellation.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig

from frontdesk.core import hours
from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.agents.agent import AgentActor
from frontdesk.engine.conversations.conversation import Conversation
from frontdesk.engine.conversations.model import ConversationRecord, Participant, message_from_row
from frontdesk.engine.edge import listener as front_door
from frontdesk.engine.edge.app import chat_handler, create_app, websocket_handler
from frontdesk.engine.mail.mailer import Mailer
from frontdesk.engine.protocol.frames import MAX_FRAME_BYTES
from frontdesk.engine.routing.commands import AgentProfile, QueueConfig, ReloadQueues
from frontdesk.engine.routing.router import Router
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.runtime.directory import Directory
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, open_database
from frontdesk.engine.storage.demo import load_demo
from frontdesk.engine.storage.embedded import EmbeddedPostgres
from frontdesk.engine.storage.persister import Persister

log = logging.getLogger(__name__)

UNSENT_UPLOAD_TTL_S = 24 * 3600
QUEUE_WATCH_RETRY_S = 2.0
UPLOAD_SWEEP_EVERY_S = 3600


async def database_url(config: Config, embedded: EmbeddedPostgres) -> str:
    if config.database_url:
        return config.database_url
    return await trio.to_thread.run_sync(embedded.start)


class BadConfiguration(Exception):
    """Stored configuration the engine cannot run with (e.g. a malformed opening-hours schedule)."""


async def prepare_database(db: Database, demo: bool) -> None:
    """Apply the schema, load the demo data if asked, and check every queue's settings."""
    await db.apply_schema(queries.schema_sql())
    if demo:
        await load_demo(db)
    await load_queue_configs(db, strict=True)


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


async def watch_queues(directory: Directory, router: Router) -> None:
    """Reload queue settings into the Router whenever the ``queues`` table changes (NOTIFY)."""
    db = directory.db
    while True:
        try:
            async with db.listen("frontdesk_queues") as changes:
                await router.send(ReloadQueues(await load_queue_configs(db, strict=False)))
                async for _ in changes:
                    await router.send(ReloadQueues(await load_queue_configs(db, strict=False)))
        except DatabaseError as exc:
            log.warning("queue settings watch lost (%s); retrying", exc)
            await trio.sleep(QUEUE_WATCH_RETRY_S)

async def restore(directory: Directory, router: Router) -> None:
    """Rebuild queues, open conversations and agent load from the database (before serving)."""
    db = directory.db
    await queries.void_pending_offers(db)
    await queries.reset_agent_status(db)
    chosen: dict[str, tuple[str, str]] = {}  # agent id -> (email, the presence it last chose)
    router.restore_queues(await load_queue_configs(db, strict=False))
    for row in await queries.all_agents(db):
        chosen[str(row["id"])] = (row["email"], row["presence"])
        router.restore_agent(AgentProfile(str(row["id"]), row["name"], frozenset(row["queues"]), row["capacity"]))
    rows = await queries.open_conversations(db)
    ids = [str(r["id"]) for r in rows]
    messages: dict[str, list[Any]] = defaultdict(list)
    for m in await queries.messages_of(db, ids) if ids else []:
        messages[str(m["conversation_id"])].append(message_from_row(m))
    participants: dict[str, dict[str, Participant]] = defaultdict(dict)
    for p in await queries.participants_of(db, ids) if ids else []:
        participants[str(p["conversation_id"])][str(p["agent_id"])] = Participant(
            str(p["agent_id"]), p["name"], p["role"], p["last_read_seq"])
    owners: set[str] = set()
    for r in rows:
        cid = str(r["id"])
        record = ConversationRecord(cid, r["queue"], r["status"], r["customer_name"], r["customer_email"],
                                    list(r["customer_verified"]), r["created_at"].astimezone(UTC),
                                    messages=messages[cid], participants=participants[cid],
                                    customer_read_seq=r["customer_read_seq"])
        conv = Conversation(directory, record)
        first = messages[cid][0].text if messages[cid] else ""
        info = {"customer": conv.customer_info, "question": first}
        if r["status"] == "queued":
            router.restore_waiting(cid, r["queue"], r["queue_key"], info)
            record.position = router.state.position(cid)
        elif r["owner_id"] is not None:
            invited = [p.agent_id for p in participants[cid].values() if p.role == "invited"]
            router.restore_open(cid, r["queue"], str(r["owner_id"]), info, invited, r["queue_key"])
            owners.add(str(r["owner_id"]))
        directory.spawn_conversation(conv)
    for cid, agent_ids in (await queries.refusals_of(db, ids) if ids else {}).items():
        router.state.restore_exclusions(cid, agent_ids)
    # agents who own conversations but are not connected: their reconnect grace starts now
    for agent_id in sorted(owners):
        agent = router.state.agents.get(agent_id)
        if agent is None:
            continue
        email, presence = chosen.get(agent_id, ("", "available"))
        profile = AgentProfile(agent.id, agent.name, agent.queues, agent.capacity, email)
        await directory.agent_actor(agent_id, _factory(directory, profile, presence))
    if rows:
        log.info("restored %d open conversations", len(rows))


async def sweep_unsent_uploads(directory: Directory) -> None:
    """Remove uploads that no message carries, a day after they came (issue: storage hygiene)."""
    while True:
        try:
            for attachment_id in await queries.expired_unsent_attachments(
                    directory.db, utc_now() - timedelta(seconds=UNSENT_UPLOAD_TTL_S)):
                (directory.config.uploads_dir / attachment_id).unlink(missing_ok=True)
        except DatabaseError as exc:
            log.warning("upload sweep failed: %s", exc)
        await trio.sleep(UPLOAD_SWEEP_EVERY_S)


def _factory(directory: Directory, profile: AgentProfile, presence: str) -> Callable[[], AgentActor]:
    return lambda: AgentActor(directory, profile, presence)


async def _stop_on_signal(cancel_scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s: stopping", signal.Signals(signum).name)
            cancel_scope.cancel()
            return


# Garbage collection (issue 6; measured in benchmarks/README.md). With CPython's default
# thresholds (700, 10, 10) a full collection ran every ~2 s under load and stopped the engine for
# 300-570 ms each at ~2,000 sockets (10 s of GC in 40 s). Everything alive after start-up is
# frozen out of all collections and full collections are rare: GC time fell ~8x. Then the young
# generations were made SMALLER again: with (50_000, 20, 100) a middle-generation collection held
# the survivors of 20 young ones and stopped the engine for ~1 s once a minute at 1,000 msgs/s
# (p99 870 ms); (5_000, 2, 100) costs the same GC time in more, shorter pauses (young ~7 ms, middle
# ~30 ms; p99 77 ms). benchmarks/README.md, "Garbage collection".
GC_THRESHOLDS = (5_000, 2, 100)


def tune_gc() -> None:
    """Collect once, freeze the start-up heap, raise the thresholds. For a whole process, not a test."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def run_engine(config: Config, *, ready: Callable[[str], None] | None = None, manage_gc: bool = False,
                     task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Run the engine until cancelled or signalled. ``task_status.started(url)`` when serving.

    ``manage_gc`` (``frontdesk serve``): ``tune_gc()`` once serving; left off in-process (tests).
    """
    embedded = EmbeddedPostgres(config.data_dir)
    try:
        url = await database_url(config, embedded)
        config.uploads_dir.mkdir(parents=True, exist_ok=True)
        async with open_database(url) as db:
            await prepare_database(db, config.demo)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
                persister = Persister(db, queries.BULK)
                await nursery.start(persister.run)
                directory = Directory(config, db, persister, nursery)
                await nursery.start(directory.timers.run)
                await nursery.start(directory.tokens.run)
                mailer = Mailer(db, config.smtp_url)
                directory.mailer = mailer
                await nursery.start(mailer.run)
                nursery.start_soon(sweep_unsent_uploads, directory)
                router = Router(directory)
                directory.router = router
                await restore(directory, router)
                await nursery.start(router.run)
                nursery.start_soon(watch_queues, directory, router)
                hc = HypercornConfig()
                hc.bind = [f"{config.host}:{config.port}"]
                hc.websocket_max_message_size = MAX_FRAME_BYTES
                hc.accesslog = None
                hc.graceful_timeout = 2
                bound = await nursery.start(front_door.serve, create_app(directory), hc, websocket_handler(directory),
                                            chat_handler(directory))
                if manage_gc:
                    tune_gc()
                base = _base_url(bound, config)
                if ready is not None:
                    ready(base)
                task_status.started(base)
    finally:
        await trio.to_thread.run_sync(embedded.stop)


def _base_url(bound: Any, config: Config) -> str:
    if isinstance(bound, list | tuple) and bound:
        first = str(bound[0])
        return first.replace("0.0.0.0", "127.0.0.1")
    return f"http://{config.host}:{config.port}"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
