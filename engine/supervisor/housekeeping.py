"""Tasks that keep the engine in step with the database: queue settings and staff edited elsewhere
(the admin API of any engine, the dashboard) reach the Router at once, and uploads that no message
carries are removed."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.edge.sessions import OpenSessions, staff_key
from frontdesk.engine.routing.commands import AgentProfile, DisableAgent, ReloadQueues, UpdateAgent
from frontdesk.engine.routing.router import Router
from frontdesk.engine.storage import admin, queries
from frontdesk.engine.storage.db import Database
from frontdesk.engine.supervisor.restore import load_queue_configs

log = logging.getLogger(__name__)

UNSENT_UPLOAD_TTL_S = 24 * 3600
QUEUE_WATCH_RETRY_S = 2.0
UPLOAD_SWEEP_EVERY_S = 3600


async def watch_queues(db: Database, router: Router) -> None:
    """Reload queue settings into the Router whenever the ``queues`` table changes (NOTIFY), and each
    time the watch starts listening (again): a change made while it could not listen is not missed."""
    while True:
        try:
            async with db.listen("frontdesk_queues") as changes:
                await router.send(ReloadQueues(await load_queue_configs(db, strict=False)))
                async for _ in changes:
                    await router.send(ReloadQueues(await load_queue_configs(db, strict=False)))
            log.warning("queue settings watch lost its connection; listening again")
        except DatabaseError as exc:
            log.warning("queue settings watch lost (%s); retrying", exc)
        await trio.sleep(QUEUE_WATCH_RETRY_S)


async def watch_staff(db: Database, router: Router, sessions: OpenSessions) -> None:
    """Apply every change to staff and queue memberships (NOTIFY ``frontdesk_staff``, payload the
    staff id) to the Router: an agent's new name, capacity and queues count at once; a disabled
    agent's sockets on this engine close (1008) and its chats go back to their queues. Changes that
    arrive together are applied once per person."""
    while True:
        try:
            async with db.listen("frontdesk_staff") as changes:
                async for staff_id in changes:
                    ids = {staff_id}
                    while True:
                        try:
                            ids.add(changes.receive_nowait())
                        except trio.WouldBlock:
                            break
                    for sid in sorted(ids):
                        await apply_staff_change(db, router, sessions, sid)
            log.warning("staff watch lost its connection; listening again")
        except DatabaseError as exc:
            log.warning("staff watch lost (%s); retrying", exc)
        await trio.sleep(QUEUE_WATCH_RETRY_S)


async def apply_staff_change(db: Database, router: Router, sessions: OpenSessions, staff_id: str) -> None:
    row = await admin.live_profile(db, staff_id)
    if row is None:
        return
    if row["disabled_at"] is not None:
        for session in sessions.holding(staff_key(staff_id)):
            session.revoke()
        await router.send(DisableAgent(staff_id))       # a supervisor may own chats it took over
    elif row["role"] == "agent":
        await router.send(UpdateAgent(AgentProfile(staff_id, row["name"], frozenset(row["queues"]), row["capacity"],
                                                    row["email"])))


async def sweep_unsent_uploads(db: Database, uploads_dir: Path) -> None:
    """Remove uploads that no message carries, a day after they came."""
    while True:
        try:
            for attachment_id in await queries.expired_unsent_attachments(
                    db, utc_now() - timedelta(seconds=UNSENT_UPLOAD_TTL_S)):
                (uploads_dir / attachment_id).unlink(missing_ok=True)
        except DatabaseError as exc:
            log.warning("upload sweep failed: %s", exc)
        await trio.sleep(UPLOAD_SWEEP_EVERY_S)
