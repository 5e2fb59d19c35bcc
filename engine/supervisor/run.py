"""The root of the engine: one ``trio.run``, one nursery, every actor started in order.

``run_engine`` starts (or connects to) PostgreSQL, applies the schema, loads the demo data when
asked, rebuilds the Router's queues and the open conversations from the database (PROTOCOL.md
§5.10), then serves HTTP and websockets on one port until SIGINT/SIGTERM. It makes each actor's
handles (``ConversationContext``, ``AgentContext``, ``EdgeContext``) and owns the nursery every
actor runs in.

Supervision (``runtime/supervision.py``): a Conversation, an AgentActor, the Mailer or the SMS
sender that crashes on a bug is logged, counted and restarted from the database, with back-off, and parked
when it keeps crashing; every other actor goes on. The Router is rebuilt in place
(``restore.rebuild_router``) with the same inbox; one that keeps crashing stops the engine, whose
next start rebuilds everything. A crash of the Persister, the timer service, the token resolver or
the listener stops the engine (after logging it): their state is the engine's as a whole.

Stopping (SIGTERM, or Ctrl-C): every websocket is closed with 1001 after the frames already
queued for it, the port stops accepting, the writes still queued are committed (for as long as
``STOP_DRAIN_S`` allows), one line is logged, and ``run_engine`` returns. A second signal stops at
once.

Resource handling: the embedded PostgreSQL (when no URL is given) is stopped when the engine
stops; the database pool is closed shielded from cancellation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig

from frontdesk.engine.agents.agent import AgentActor, AgentContext
from frontdesk.engine.agents.roster import AgentRoster
from frontdesk.engine.conversations.conversation import Conversation, ConversationContext
from frontdesk.engine.conversations.history import TailLimits
from frontdesk.engine.conversations.roster import ConversationRoster
from frontdesk.engine.edge import listener
from frontdesk.engine.edge.app import chat_handler, create_app, websocket_handler
from frontdesk.engine.edge.chat_door import ChatHandler
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.session import CLOSE_GOING_AWAY
from frontdesk.engine.edge.throttles import Throttles
from frontdesk.engine.edge.token_resolver import TokenResolver
from frontdesk.engine.mail.mailer import Mailer, parse_mail_from
from frontdesk.engine.mail.notifier import Notifier
from frontdesk.engine.mail.outbox import Outbox
from frontdesk.engine.mail.sms import SmsSender
from frontdesk.engine.protocol.frames import MAX_FRAME_BYTES
from frontdesk.engine.routing.router import Router
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.runtime.registry import ActorMap
from frontdesk.engine.runtime.supervision import A, Strategy, supervise
from frontdesk.engine.runtime.timers import Timers
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, open_database
from frontdesk.engine.storage.demo import load_demo
from frontdesk.engine.storage.embedded import EmbeddedPostgres
from frontdesk.engine.storage.persister import Persister
from frontdesk.engine.supervisor.housekeeping import sweep_unsent_uploads, watch_queues, watch_staff
from frontdesk.engine.supervisor.restore import load_queue_configs, rebuild_router, restore

log = logging.getLogger(__name__)

# The young generations are kept small and everything alive after start-up is frozen out of every
# collection: a full collection over ~2,000 sockets' tasks stops the engine for hundreds of
# milliseconds, a young one for a few (docs/benchmark-history.md, "Garbage collection").
GC_THRESHOLDS = (5_000, 2, 100)
SHUTDOWN_GRACE_S = 2
STOP_CLOSE_SOCKETS_S = 5.0      # every socket's close frame, or the engine stops without it
STOP_DRAIN_S = 10.0             # the queued writes' commit, or they are given up (and logged)
M_MMAP_THRESHOLD = -3           # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024   # glibc's own starting value, kept


@dataclass(frozen=True)
class Running:
    """What a stop needs of a running engine."""

    base_url: str
    edge: EdgeContext
    persister: Persister
    listener: trio.CancelScope


async def database_url(config: Config, embedded: EmbeddedPostgres) -> str:
    if config.database_url:
        return config.database_url
    return await trio.to_thread.run_sync(embedded.start)


async def prepare_database(db: Database, demo: bool) -> None:
    """Apply the schema, load the demo data if asked, and check every queue's settings."""
    await db.apply_schema(queries.schema_sql())
    if demo:
        await load_demo(db)
    await load_queue_configs(db, strict=True)


def raise_file_limit() -> None:
    """Every socket is a descriptor: take the hard limit the system allows, not the soft default."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log.info("open files limit raised from %d to %d", soft, hard)


def keep_large_buffers_mapped() -> None:
    """Have glibc give every buffer of 128 KiB or more a mapping of its own, returned whole when freed.

    asyncio reads each database response into a fresh 256-KiB buffer and shrinks it to what came.
    glibc maps such buffers on their own only until the first is freed; then it raises its threshold
    and serves them from the heap, where each read leaves a hole between long-lived objects that
    the next read is too large for, and the heap grows for as long as the engine runs. Setting the
    threshold keeps it where glibc starts. Elsewhere than glibc nothing changes."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def tune_gc() -> None:
    """Collect once, freeze the start-up heap, raise the thresholds. For a whole process, not a test."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def run_engine(config: Config, *, ready: Callable[[str], None] | None = None, manage_gc: bool = False,
                     task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Run the engine until cancelled or signalled. ``task_status.started(url)`` when serving.

    ``manage_gc`` (``frontdesk serve``): ``tune_gc()``, ``raise_file_limit()`` and
    ``keep_large_buffers_mapped()`` once serving; left
    off in-process (tests), as both act on the whole process.
    """
    embedded = EmbeddedPostgres(config.data_dir)
    try:
        url = await database_url(config, embedded)
        config.uploads_dir.mkdir(parents=True, exist_ok=True)
        async with open_database(url) as db:
            await prepare_database(db, config.demo)
            async with trio.open_nursery() as nursery:
                stop = trio.Event()
                nursery.start_soon(_stop_on_signal, stop, nursery.cancel_scope)
                running = await _serve(config, db, nursery)
                if manage_gc:
                    tune_gc()
                    raise_file_limit()
                    keep_large_buffers_mapped()
                if ready is not None:
                    ready(running.base_url)
                task_status.started(running.base_url)
                await stop.wait()
                await _stop(running)
                nursery.cancel_scope.cancel()
    finally:
        await trio.to_thread.run_sync(embedded.stop)


async def _stop(running: Running) -> None:
    """Close every socket (1001), stop listening, commit what is queued; log one line."""
    sockets = len(running.edge.sessions)
    with trio.move_on_after(STOP_CLOSE_SOCKETS_S):
        await running.edge.sessions.close_all(CLOSE_GOING_AWAY)
    running.listener.cancel()
    with trio.move_on_after(STOP_DRAIN_S):
        await running.persister.drain()
    lost = running.persister.waiting
    if lost:
        log.error("stopped: %d websockets closed; %d writes could not be committed (the database is away)",
                  sockets, lost)
    else:
        log.info("stopped: %d websockets closed, every write committed", sockets)


async def _listen(scope: trio.CancelScope, app: Any, hc: HypercornConfig, on_websocket: listener.WebsocketHandler,
                  on_chat: ChatHandler, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    """The listener in a scope of its own: a stopping engine closes the port before the actors stop."""
    with scope:
        await listener.serve(app, hc, on_websocket, on_chat, task_status=task_status)


async def _serve(config: Config, db: Database, nursery: trio.Nursery) -> Running:
    """Start every actor in ``nursery`` in the order their handles need, then the listener."""
    persister = Persister(db, queries.BULK)
    await nursery.start(persister.run)
    timers = Timers()
    await nursery.start(timers.run)
    tokens = TokenResolver(db)
    await nursery.start(tokens.run)
    mailer = Mailer(db, config.smtp_url, parse_mail_from(config.mail_from))
    await nursery.start(partial(supervise, Strategy("mailer"), "mailer", mailer, _same))
    sms = SmsSender(db, config.sms_url)
    await nursery.start(partial(supervise, Strategy("sms"), "sms", sms, _same))
    outbox = Outbox(db, persister, mailer.nudge)
    notifier = Notifier(db, persister, config.link_base, mailer.nudge)
    await nursery.start(partial(supervise, Strategy("notifier"), "notifier", notifier, _same))
    nursery.start_soon(sweep_unsent_uploads, db, config.uploads_dir)

    conversation_actors: ActorMap[Conversation] = ActorMap(nursery, Strategy("conversation"))
    agent_actors: ActorMap[AgentActor] = ActorMap(nursery, Strategy("agent"))
    router = Router(offer_timeout_s=config.offer_timeout_s, missed_offers_away=config.missed_offers_away,
                    persister=persister, timers=timers, conversations=conversation_actors, agents=agent_actors,
                    faults=config.faults)
    conversations = ConversationRoster(conversation_actors, ConversationContext(
        db=db, persister=persister, timers=timers, router=router, agents=agent_actors, outbox=outbox,
        spill=conversation_actors.send_later, max_wait_s=config.max_wait_s,
        customer_grace_s=config.customer_grace_s,
        tail=TailLimits(config.history_tail_messages, config.history_tail_chars), faults=config.faults,
        notify_after_s=config.notify_after_s, remind_after_s=config.agent_remind_after_s))
    agents = AgentRoster(agent_actors, AgentContext(
        router=router, conversations=conversation_actors, timers=timers, spill=agent_actors.send_later,
        reconnect_grace_s=config.reconnect_grace_s, faults=config.faults))
    await restore(db, router, conversations, agents)
    rebuild = partial(_rebuild_router, db, persister, conversation_actors, agent_actors)
    await nursery.start(partial(supervise, Strategy("router"), "router", router, rebuild, park=_router_parked))
    nursery.start_soon(watch_queues, db, router)

    edge = EdgeContext(config=config, db=db, persister=persister, router=router, conversations=conversations,
                       agents=agents, tokens=tokens, outbox=outbox, sms=sms,
                       throttles=Throttles.from_config(config))
    nursery.start_soon(watch_staff, db, router, edge.sessions)
    hc = HypercornConfig()
    hc.bind = [f"{config.host}:{config.port}"]
    hc.websocket_max_message_size = MAX_FRAME_BYTES
    hc.accesslog = None
    hc.graceful_timeout = SHUTDOWN_GRACE_S
    listening = trio.CancelScope()
    bound = await nursery.start(_listen, listening, create_app(edge), hc, websocket_handler(edge), chat_handler(edge))
    return Running(_base_url(bound, config), edge, persister, listening)


async def _rebuild_router(db: Database, persister: Persister, conversations: ActorMap[Conversation],
                          agents: ActorMap[AgentActor], _key: str, crashed: Router) -> Router:
    return await rebuild_router(db, persister, crashed, conversations, agents)


async def _router_parked(_key: str, _router: Router) -> None:
    """Nothing is routed without the Router: the engine stops, and its next start rebuilds all."""
    raise RuntimeError("the Router keeps crashing: the engine stops")


async def _same(_key: str, crashed: A) -> A:
    """A mail or SMS worker's successor is itself: its state (its outbox, the due rows) is all in the
    database."""
    return crashed


async def _stop_on_signal(stop: trio.Event, cancel_scope: trio.CancelScope) -> None:
    """The first SIGINT or SIGTERM stops the engine properly; a second one at once."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if stop.is_set():
                log.warning("received %s again: stopping at once", signal.Signals(signum).name)
                cancel_scope.cancel()
                return
            log.info("received %s: stopping", signal.Signals(signum).name)
            stop.set()


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
