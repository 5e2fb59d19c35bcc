"""Router: the one actor that decides who gets what.

It owns a ``RoutingState`` (engine/routing.py: queues, agent load, pending offers) and turns
its effects into actions: offers are stored and sent to the agent with a timer; outcomes are
stored; an accepted chat is handed to its Conversation actor; presence changes are stored
and told to the agent. Because this one task decides, a chat cannot be assigned twice.

The Router never waits on a client or on another actor: events to agents and conversations
are posted without waiting, and writes go to the Persister in order (``post``), which only
blocks if the database has fallen 65,536 writes behind.

Timers (offer expiry, the position tick) are child tasks that only send a message back into
the inbox; a stale ``OfferTimedOut`` for an answered offer changes nothing.

Error handling: a refused command (``EngineError``, e.g. ``offer_expired``) is answered to
the requesting session as an ``error`` event; the Router goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import trio

from frontdesk.core import hours
from frontdesk.core.errors import EngineError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.protocol.frames import encode
from frontdesk.engine.routing.commands import (
    AcceptOffer,
    AgentDisconnected,
    AgentLeft,
    AgentOffline,
    AgentOnline,
    AgentProfile,
    AgentSnapshot,
    AnswerInvitation,
    ConversationClosed,
    Enqueue,
    InvitationTimedOut,
    Invite,
    OfferTimedOut,
    QueueConfig,
    QueueView,
    RejectOffer,
    ReloadQueues,
    Reply,
    RouterCommand,
    SetPresence,
    TakeSnapshot,
    Tick,
)
from frontdesk.engine.routing.decisions import (
    AVAILABLE,
    AWAY,
    OFFLINE,
    Assigned,
    LeftConversation,
    OfferClosed,
    OfferMade,
    PresenceChanged,
    Requeued,
    RoutingState,
)
from frontdesk.engine.routing.invitations import (
    InvitationClosed,
    InvitationDesk,
    InvitationEffect,
    InvitationOffered,
    Joined,
)
from frontdesk.engine.routing.waiting import WaitEstimator, at_position
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import ACTOR_INBOX_SIZE
from frontdesk.engine.runtime.timers import Timer, Timers
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Statement

if TYPE_CHECKING:
    from frontdesk.engine.runtime.directory import Directory

log = logging.getLogger(__name__)

# How often waiting customers hear their new position, and gauges are refreshed.
POSITION_TICK_S = 0.5


@dataclass(eq=False)
class _PendingOffer:
    frame: dict[str, Any]
    timer: Timer | None = None


class Router:
    def __init__(self, directory: Directory):
        self._dir = directory
        cfg = directory.config
        self._offer_timeout_s = cfg.offer_timeout_s
        self.state = RoutingState(missed_offers_away=cfg.missed_offers_away)
        self.desk = InvitationDesk(self.state)
        self.estimator = WaitEstimator()
        self._told_per_place: dict[str, float | None] = {}  # queue -> its pace at the last position tick
        self._entered: dict[str, tuple[float, int]] = {}  # waiting chat -> (since, position then)
        self._status_written: dict[str, tuple[str, int, int, int, int]] = {}  # agent -> last agent_status row
        self._queue_configs: dict[str, QueueConfig] = {}
        self._timers = Timers()         # offer and invitation expiry (timers.py)
        self._invitation_timers: dict[str, Timer] = {}
        self._invitation_frames: dict[str, tuple[str, dict[str, Any]]] = {}  # pending -> (invitee, event)
        self._send, self.inbox = trio.open_memory_channel[RouterCommand](ACTOR_INBOX_SIZE)
        self._changed = trio.Event()    # set by every command that may change positions or agent status
        self._info: dict[str, dict[str, Any]] = {}      # open conversation -> customer, question, queue
        self._pending: dict[str, _PendingOffer] = {}
        self._nursery: trio.Nursery | None = None

    # ---- API for other actors --------------------------------------------------------------

    async def send(self, command: RouterCommand) -> None:
        await self._send.send(command)

    def _post(self, command: RouterCommand) -> None:
        """Queue ``command`` without waiting (from a timer); when the inbox is full, a task waits for room."""
        try:
            self._send.send_nowait(command)
        except trio.WouldBlock:
            assert self._nursery is not None
            self._nursery.start_soon(self._send.send, command)

    async def call(self, make: Any) -> Any:
        """Send the command built by ``make(reply)`` (a ``Reply``) and wait for its one answer."""
        reply: Reply[Any] = Reply()
        await self._send.send(make(reply))
        return await reply.receive()

    # ---- before run(): state rebuilt from the database (PROTOCOL.md §5.10) -------------------

    def restore_queues(self, configs: dict[str, QueueConfig]) -> None:
        self._queue_configs = configs
        for name in configs:
            self.state.add_queue(name)

    def restore_agent(self, profile: AgentProfile) -> None:
        self.state.upsert_agent(profile.agent_id, profile.name, profile.queues, profile.capacity)

    def restore_waiting(self, conversation_id: str, queue: str, queue_key: int, info: dict[str, Any]) -> None:
        self.state.add_queue(queue)
        self._info[conversation_id] = {**info, "queue": queue}
        effects = self.state.enqueue(conversation_id, queue, queue_key, trio.current_time())
        assert not effects, "no agent is connected before the engine serves"

    def restore_open(self, conversation_id: str, queue: str, agent_id: str, info: dict[str, Any],
                     invited: list[str], queue_key: int) -> None:
        self._info[conversation_id] = {**info, "queue": queue}
        if agent_id in self.state.agents:
            self.state.restore_open(conversation_id, queue, agent_id, queue_key)
        for invited_id in invited:
            if invited_id in self.state.agents:
                self.state.change_load(invited_id, trio.current_time(), join=conversation_id)

    # ---- the actor -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._ticker)
            await nursery.start(self._timers.run)
            self._publish_positions()  # gauges exist from the start, not only after the first tick
            task_status.started()
            async for command in self.inbox:
                try:
                    await self._handle(command)
                except EngineError as exc:
                    session = getattr(command, "session", None)
                    if session is not None:
                        session.deliver(encode(exc.to_event()))
                except Exception:
                    log.exception("router failed on %r", command)
                    raise

    async def _ticker(self) -> None:
        """A Tick at most every POSITION_TICK_S, and only after a command changed something: an idle
        engine does no work at all (benchmarks/README.md, idle CPU)."""
        while True:
            await self._changed.wait()
            await trio.sleep(POSITION_TICK_S)
            self._changed = trio.Event()
            await self._send.send(Tick())

    async def _handle(self, c: RouterCommand) -> None:
        st = self.state
        now = trio.current_time()
        effects: Sequence[InvitationEffect] = []
        if isinstance(c, Enqueue):
            if c.queue not in st.queues:
                st.add_queue(c.queue)
            self._info[c.conversation_id] = {**c.info, "queue": c.queue}
            key = c.queue_key if c.queue_key is not None else st.next_queue_key()
            effects = st.enqueue(c.conversation_id, c.queue, key, now)
            position = st.position(c.conversation_id)
            if position is not None:  # still waiting (not offered and taken at once)
                self._entered[c.conversation_id] = (now, position)
                conv = self._dir.conversations.get(c.conversation_id)
                if conv is not None:
                    conv.post_position(position, self.estimator.estimate(c.queue, position, now))
            if c.reply is not None:
                c.reply.send_nowait(position or 0)
        elif isinstance(c, ReloadQueues):
            self._queue_configs = c.configs
            metrics.QUEUE_SETTINGS_RELOADS.inc()
            for name in c.configs:
                st.add_queue(name)
        elif isinstance(c, AgentOnline):
            p = c.profile
            st.upsert_agent(p.agent_id, p.name, p.queues, p.capacity)
            effects = st.agent_connected(p.agent_id, c.chosen_presence, now)
            await self._apply(effects)
            effects = []
            c.reply.send_nowait(self._snapshot(p.agent_id))
        elif isinstance(c, TakeSnapshot):
            agent = st.agents[c.agent_id]
            if not agent.connected and agent.presence != OFFLINE:
                # a socket came back within the reconnect grace: connected again, presence kept
                await self._apply(st.agent_connected(c.agent_id, agent.presence, now))
            c.reply.send_nowait(self._snapshot(c.agent_id))
        elif isinstance(c, AgentDisconnected):
            if c.agent_id in st.agents:
                effects = st.agent_disconnected(c.agent_id)
        elif isinstance(c, AgentOffline):
            if c.agent_id in st.agents:
                await self._apply(self.desk.agent_offline(c.agent_id, now))
                effects = st.agent_offline(c.agent_id, now)
        elif isinstance(c, SetPresence):
            if st.agents.get(c.agent_id) is None or st.agents[c.agent_id].presence == OFFLINE:
                raise EngineError("forbidden", "sign in before setting presence", field="state")
            effects = st.set_presence(c.agent_id, c.state, now, by="agent")
        elif isinstance(c, AcceptOffer):
            effects = st.accept(c.agent_id, c.offer_id, now)
        elif isinstance(c, RejectOffer):
            effects = st.reject(c.agent_id, c.offer_id, c.reason, now)
        elif isinstance(c, OfferTimedOut):
            effects = st.expire(c.offer_id, now)
        elif isinstance(c, ConversationClosed):
            await self._apply(self.desk.conversation_closed(c.conversation_id, now))
            effects = st.customer_left(c.conversation_id, now)
            self._info.pop(c.conversation_id, None)
            self._entered.pop(c.conversation_id, None)
        elif isinstance(c, Invite):
            await self._apply(self.desk.invite(c.conversation_id, c.inviter_id, agent_id=c.agent_id,
                                               queue=c.queue, now=now), invite=c)
        elif isinstance(c, AnswerInvitation):
            effects = self.desk.answer(c.agent_id, c.invitation_id, c.accept, now)
        elif isinstance(c, InvitationTimedOut):
            effects = self.desk.expire(c.invitation_id, c.invitee_id, now)
        elif isinstance(c, AgentLeft):
            if c.agent_id in st.agents and c.conversation_id in st.agents[c.agent_id].joined:
                effects = st.change_load(c.agent_id, now, leave=c.conversation_id)
        elif isinstance(c, Tick):
            metrics.ROUTER_TICKS.inc()
            self._publish_positions()
            await self._write_agent_status()
        if not isinstance(c, Tick):
            self._changed.set()
        await self._apply(effects)

    def queue_view(self, name: str) -> QueueView | None:
        """What a customer's page needs to know of queue ``name`` now; None for an unknown queue.

        Called by the HTTP routes directly, not through the inbox: a chat's POST would otherwise
        wait behind every command queued before it (benchmarks/README.md, sixth round). It is
        safe because trio runs one task at a time and this method never awaits: it reads the
        routing state between two of the Router's commands and changes nothing.
        """
        config = self._queue_configs.get(name)
        if config is None:
            return None
        at = utc_now()
        is_open = hours.is_open(config.schedule, at)
        q = self.state.queues.get(name)
        return QueueView(config, is_open, None if is_open else hours.next_open(config.schedule, at),
                         self.state.agents_online(name), len(q.waiting) if q else 0)

    def next_queue_key(self) -> int:
        """A queue key for a chat about to be stored, after every chat waiting now. Called by the
        chat's POST directly, as ``queue_view``: the key's counter only grows, and taking it
        does not await."""
        return self.state.next_queue_key()

    def _snapshot(self, agent_id: str) -> AgentSnapshot:
        agent = self.state.agents[agent_id]
        return AgentSnapshot(
            presence=agent.presence,
            conversations=sorted(agent.open | agent.joined),
            offers=[self._pending[o.id].frame for o in self.state.pending_offers_of(agent_id) if o.id in self._pending],
            invitations=[frame for invitee, frame in self._invitation_frames.values() if invitee == agent_id])

    # ---- effects ---------------------------------------------------------------------------

    async def _apply(self, effects: Sequence[InvitationEffect], invite: Invite | None = None) -> None:
        # an accepted offer's close goes into the assignment's write (one write per chat, not two);
        # routing.accept puts the close before the Assigned effect
        closes: dict[str, Statement] = {}
        for e in effects:
            if isinstance(e, OfferMade):
                await self._offer_made(e)
            elif isinstance(e, OfferClosed):
                await self._offer_closed(e, closes if e.outcome == "accepted" else None)
            elif isinstance(e, Assigned):
                self._measure_wait(e.conversation_id)
                conv = self._dir.conversations.get(e.conversation_id)
                agent = self.state.agents[e.agent_id]
                close = closes.pop(e.conversation_id, None)
                also = [close] if close is not None else []
                if conv is not None:
                    conv.post_assign(e.agent_id, agent.name, also)
                elif also:
                    await self._dir.persister.post(also, e.conversation_id)
            elif isinstance(e, Requeued):
                position = self.state.position(e.conversation_id) or 1
                self._entered[e.conversation_id] = (trio.current_time(), position)
                conv = self._dir.conversations.get(e.conversation_id)
                if conv is not None:
                    conv.post_requeue(e.agent_id, e.queue_key, position)
            elif isinstance(e, PresenceChanged):
                await self._presence_changed(e)
            elif isinstance(e, LeftConversation):
                conv = self._dir.conversations.get(e.conversation_id)
                if conv is not None:
                    conv.post_agent_gone(e.agent_id)
            elif isinstance(e, InvitationOffered):
                await self._invitation_offered(e, invite)
            elif isinstance(e, InvitationClosed):
                await self._invitation_closed(e)
            elif isinstance(e, Joined):
                conv = self._dir.conversations.get(e.conversation_id)
                if conv is not None:
                    conv.post_join(e.agent_id, self.state.agents[e.agent_id].name)
        for conversation_id, close in closes.items():   # none expected (an accept always assigns); never lost
            await self._dir.persister.post([close], conversation_id)

    async def _invitation_offered(self, e: InvitationOffered, invite: Invite | None) -> None:
        created = utc_now()
        statements = []
        if invite is not None:
            statements.append(queries.insert_invitation(e.invitation_id, e.conversation_id, e.inviter_id,
                                                        invite.agent_id, invite.queue, created))
        statements.append(queries.invitation_asked(e.invitation_id, e.invitee_id))
        await self._dir.persister.post(statements, e.conversation_id)
        inviter = self.state.agents[e.inviter_id]
        info = self._info.get(e.conversation_id, {})
        frame = {"type": "invitation", "invitation_id": e.invitation_id, "conversation_id": e.conversation_id,
                 "from": {"id": inviter.id, "name": inviter.name}, "customer": info.get("customer"),
                 "queue": info.get("queue"), "expires_at": iso(created + timedelta(seconds=self._offer_timeout_s))}
        self._invitation_frames[e.invitation_id] = (e.invitee_id, frame)
        self._dir.deliver_to_agent(e.invitee_id, encode(frame))
        self._invitation_timers[e.invitation_id] = self._timers.after(
            self._offer_timeout_s, lambda: self._post(InvitationTimedOut(e.invitation_id, e.invitee_id)))

    async def _invitation_closed(self, e: InvitationClosed) -> None:
        timer = self._invitation_timers.pop(e.invitation_id, None)
        self._invitation_frames.pop(e.invitation_id, None)
        if timer is not None:
            timer.cancel()
        if not e.final:
            return
        await self._dir.persister.post([queries.close_invitation(e.invitation_id, e.status, utc_now())],
                                       e.conversation_id)
        # the protocol knows accepted | declined | expired; a cancelled invitation did not happen
        status = "expired" if e.status == "cancelled" else e.status
        self._dir.deliver_to_agent(e.inviter_id, encode({"type": "invitation_result",
                                                         "invitation_id": e.invitation_id, "status": status,
                                                         "conversation_id": e.conversation_id}))

    async def _offer_made(self, e: OfferMade) -> None:
        created = utc_now()
        expires = created + timedelta(seconds=self._offer_timeout_s)
        info = self._info.get(e.conversation_id, {})
        frame = {"type": "offer", "offer_id": e.offer_id, "conversation_id": e.conversation_id,
                 "queue": info.get("queue"), "customer": info.get("customer"),
                 "question": info.get("question"), "expires_at": iso(expires)}
        pending = _PendingOffer(frame)
        self._pending[e.offer_id] = pending
        await self._dir.persister.post([queries.insert_offer(e.offer_id, e.conversation_id, e.agent_id,
                                                             created, expires)],
                                       e.conversation_id)
        self._dir.deliver_to_agent(e.agent_id, encode(frame))
        offer_id = e.offer_id
        pending.timer = self._timers.after(self._offer_timeout_s, lambda: self._post(OfferTimedOut(offer_id)))
        metrics.OFFERS.labels("made").inc()

    async def _offer_closed(self, e: OfferClosed, closes: dict[str, Statement] | None = None) -> None:
        """``closes``: where to leave the close's statement for the assignment's write, instead of
        posting it."""
        pending = self._pending.pop(e.offer_id, None)
        if pending is not None and pending.timer is not None:
            pending.timer.cancel()
        close = queries.close_offer(e.offer_id, e.outcome, e.reason, utc_now())
        if closes is not None:
            closes[e.conversation_id] = close
        else:
            await self._dir.persister.post([close], e.conversation_id)
        metrics.OFFERS.labels(e.outcome).inc()
        if e.outcome in ("expired", "revoked"):
            reason = "expired" if e.outcome == "expired" else (e.reason or "agent_unavailable")
            self._dir.deliver_to_agent(e.agent_id, encode(
                {"type": "offer_revoked", "offer_id": e.offer_id, "conversation_id": e.conversation_id,
                 "reason": reason}))

    async def _presence_changed(self, e: PresenceChanged) -> None:
        statements = [queries.log_presence(e.agent_id, e.state, e.by)]
        if e.by == "agent":
            statements.append(queries.set_chosen_presence(e.agent_id, e.state))
        await self._dir.persister.post(statements, e.agent_id)
        self._dir.deliver_to_agent(e.agent_id, encode({"type": "presence", "state": e.state}))

    async def _write_agent_status(self) -> None:
        """Keep ``agent_status`` current for the dashboard: rows that changed since last time."""
        rows = []
        for a in self.state.agents.values():
            row = (a.presence if a.connected else OFFLINE, len(a.open) + len(a.joined), len(a.offers),
                   a.invitations, a.capacity)
            if self._status_written.get(a.id) != row:
                self._status_written[a.id] = row
                rows.append((a.id, *row))
        if rows:
            await self._dir.persister.post([queries.upsert_agent_statuses(rows)], "agent_status")

    def _measure_wait(self, conversation_id: str) -> None:
        entered = self._entered.pop(conversation_id, None)
        info = self._info.get(conversation_id)
        if entered is not None and info is not None:
            now = trio.current_time()
            self.estimator.record(info["queue"], now, now - entered[0], entered[1])

    def _publish_positions(self) -> None:
        st = self.state
        now = trio.current_time()
        for name in sorted(st.dirty_from):
            # only the chats whose position changed hear of it, unless the queue's pace changed (then
            # every estimate did): a line of 10,000 that grows at its tail wakes one Conversation, not all
            per_place = self.estimator.per_place(name, now)
            start = st.dirty_from[name] if per_place == self._told_per_place.get(name) else 0
            self._told_per_place[name] = per_place
            for conversation_id, position in st.positions(name, start):
                conv = self._dir.conversations.get(conversation_id)
                if conv is not None:
                    conv.post_position(position, at_position(per_place, position))
        st.dirty_from.clear()
        for name, q in st.queues.items():
            metrics.QUEUE_WAITING.labels(name).set(len(q.waiting))
        counts = {AVAILABLE: 0, AWAY: 0, OFFLINE: 0}
        for a in self.state.agents.values():
            counts[a.presence if a.connected else OFFLINE] += 1
        for presence, n in counts.items():
            metrics.AGENTS_BY_PRESENCE.labels(presence).set(n)
