"""Router: the one actor that decides who gets what.

It owns a ``RoutingState`` (decisions.py: queues, agent load, pending offers) and turns
its effects into actions: offers are stored and sent to the agent with a timer; outcomes are
stored; an accepted chat is handed to its Conversation actor; presence changes are stored
and told to the agent. Because this one task decides, a chat cannot be assigned twice.

The Router never waits on a client or on another actor: events to agents and conversations
are posted without waiting, and writes go to the Persister in order (``post``), which only
blocks if the database has fallen 65,536 writes behind.

Timers (offer and invitation expiry, the position tick) are entries of the engine's one timer
service that only post a command back into the inbox; a stale ``OfferTimedOut`` for an answered
offer changes nothing.

Each command has one handler (``_HANDLERS``): it changes the routing state through
``decisions.py``, ``invitations.py`` or ``transfers.py`` and returns their effects, which ``_apply``
carries out. A new owner (``OwnerChanged``: a transfer accepted, a supervisor's take-over or
reassignment, all decided by ``RoutingState.change_owner``) is stored and announced by the
Conversation, with an accepted transfer's close and note in the same write.

Error handling: a refused command (``EngineError``, e.g. ``offer_expired``) is answered to
the requesting session as an ``error`` event; the Router goes on. An unexpected exception (a bug)
leaves the routing state half changed: the Router's task raises, and its supervisor rebuilds the
state in place (``reset``, then the ``restore_*`` methods, as at start) and runs it again with the
same inbox, so every command already sent is still handled. The command that crashed is handled
once more on the rebuilt state when someone waits for its answer (a new chat's position, an
agent's hello), and dropped otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import trio

from frontdesk.core import hours
from frontdesk.core.errors import EngineError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.protocol.frames import encode
from frontdesk.engine.routing.commands import (
    AcceptOffer,
    Adopt,
    AgentDisconnected,
    AgentLeft,
    AgentOffline,
    AgentOnline,
    AgentProfile,
    AgentSnapshot,
    AnswerInvitation,
    AnswerTransfer,
    ConversationClosed,
    DisableAgent,
    Enqueue,
    InvitationTimedOut,
    Invite,
    OfferTimedOut,
    PendingTransfer,
    QueueConfig,
    QueueView,
    Reassign,
    RejectOffer,
    ReloadQueues,
    Reply,
    RouterCommand,
    SetAgentPresence,
    SetPresence,
    SuperviseJoin,
    TakeOver,
    TakeSnapshot,
    Tick,
    TransferConversation,
    TransferTimedOut,
    UpdateAgent,
)
from frontdesk.engine.routing.decisions import (
    AVAILABLE,
    AWAY,
    OFFLINE,
    Assigned,
    ClaimServed,
    LeftConversation,
    OfferClosed,
    OfferMade,
    OwnerChanged,
    PresenceChanged,
    Requeued,
    RoutingState,
)
from frontdesk.engine.routing.floor import changes as floor_changes
from frontdesk.engine.routing.floor import floor as floor_view
from frontdesk.engine.routing.invitations import (
    InvitationClosed,
    InvitationDesk,
    InvitationEffect,
    InvitationOffered,
    Joined,
)
from frontdesk.engine.routing.transfers import (
    Transfer,
    TransferClosed,
    TransferDesk,
    TransferEffect,
    TransferOffered,
    TransferWaiting,
)
from frontdesk.engine.routing.waiting import WaitEstimator, at_position
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import ACTOR_INBOX_SIZE
from frontdesk.engine.runtime.faults import Faults
from frontdesk.engine.runtime.outlet import AgentInbox, deliver_to_agent
from frontdesk.engine.runtime.registry import Lookup
from frontdesk.engine.runtime.timers import Timer, Timers
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Statement
from frontdesk.engine.storage.persister import Persister
from frontdesk.engine.storage.supervision import log_action

log = logging.getLogger(__name__)

# How often waiting customers hear their new position, and gauges are refreshed; an idle engine
# arms no tick at all.
POSITION_TICK_S = 0.5

Effects = Sequence[InvitationEffect | TransferEffect]


class RoutedConversation(Protocol):
    """A Conversation actor as the Router tells it what routing decided (never waits)."""

    def post_assign(self, agent_id: str, name: str, also: Sequence[Statement] = ()) -> None: ...

    def post_join(self, agent_id: str, name: str) -> None: ...

    def post_change_owner(self, agent_id: str, name: str, previous_id: str, *, previous_stays: bool = False,
                          note: str | None = None, also: Sequence[Statement] = (), tell_previous: str | None = None,
                          at: datetime | None = None) -> None: ...

    def post_agent_gone(self, agent_id: str) -> None: ...

    def post_requeue(self, agent_id: str, queue_key: int, position: int) -> None: ...

    def post_position(self, position: int, estimated_wait_s: int | None = None) -> None: ...


@dataclass(eq=False)
class _PendingOffer:
    frame: dict[str, Any]
    timer: Timer | None = None


class Router:
    def __init__(self, *, offer_timeout_s: float, missed_offers_away: int, persister: Persister, timers: Timers,
                 conversations: Lookup[RoutedConversation], agents: Lookup[AgentInbox], faults: Faults | None = None):
        self._offer_timeout_s = offer_timeout_s
        self._persister = persister
        self._timers = timers
        self._conversations = conversations
        self._agents = agents
        self._faults = faults
        self.state = RoutingState(missed_offers_away=missed_offers_away)
        self.desk = InvitationDesk(self.state)
        self.transfers = TransferDesk(self.state)
        self.estimator = WaitEstimator()
        self._told_per_place: dict[str, float | None] = {}  # queue -> its pace at the last position tick
        self._entered: dict[str, tuple[float, int]] = {}  # waiting chat -> (since, position then)
        self._status_written: dict[str, tuple[str, int, int, int, int]] = {}  # agent -> last agent_status row
        self._queue_configs: dict[str, QueueConfig] = {}
        self._invitation_timers: dict[str, Timer] = {}
        self._invitation_frames: dict[str, tuple[str, dict[str, Any]]] = {}  # pending -> (invitee, event)
        self._transfer_timers: dict[str, Timer] = {}
        self._transfer_frames: dict[str, tuple[str, dict[str, Any]]] = {}  # offered -> (target, event)
        self._transfer_expires: dict[str, datetime] = {}   # pending -> when its turn or its wait at the head ends
        # owner -> transfer_results that came while it had no socket: told after its next welcome
        self._untold: dict[str, list[str]] = {}
        self._send, self.inbox = trio.open_memory_channel[RouterCommand](ACTOR_INBOX_SIZE)
        self._tick: Timer | None = None     # armed by every command that may change positions or agent status
        self._info: dict[str, dict[str, Any]] = {}      # open conversation -> customer, question, queue
        self._pending: dict[str, _PendingOffer] = {}
        self._nursery: trio.Nursery | None = None
        self.handling: RouterCommand | None = None     # for the supervisor's log of a crash
        self._crashed: RouterCommand | None = None     # handled again after a rebuild, if awaited
        self._deferred: list[Any] = []                 # effects of a rebuild, carried out when running again
        self.supervisors: set[str] = set()             # staff in the state who are supervisors (no queues)
        self._floor_touched: set[str] = set()          # conversations changed since the last tick

    # ---- API for other actors --------------------------------------------------------------

    async def send(self, command: RouterCommand) -> None:
        await self._send.send(command)

    def _post(self, command: RouterCommand) -> None:
        """Queue ``command`` without waiting (from a timer); when the inbox is full, a task waits for room."""
        try:
            self._send.send_nowait(command)
        except trio.WouldBlock:
            if self._nursery is None:   # between a crash and the rebuilt run: a stale timer's news
                log.warning("the Router's inbox is full while it restarts: %r dropped", command)
                return
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
        if profile.role == "supervisor":
            self.supervisors.add(profile.agent_id)

    def restore_waiting(self, conversation_id: str, queue: str, queue_key: int, info: dict[str, Any]) -> None:
        self.state.add_queue(queue)
        self._info[conversation_id] = {"since": time.time(), **info, "queue": queue}
        effects = self.state.enqueue(conversation_id, queue, queue_key, trio.current_time())
        assert not effects, "no agent is connected before the engine serves"

    def restore_open(self, conversation_id: str, queue: str, agent_id: str, info: dict[str, Any],
                     invited: list[str], queue_key: int) -> None:
        self._info[conversation_id] = {"assigned_at": time.time(), **info, "queue": queue}
        if agent_id in self.state.agents:
            self.state.restore_open(conversation_id, queue, agent_id, queue_key)
        for invited_id in invited:
            if invited_id in self.state.agents:
                self.state.change_load(invited_id, trio.current_time(), join=conversation_id)

    def restore_transfer(self, p: PendingTransfer) -> None:
        """A transfer pending in the database is pending again, its timer armed with the time it has
        left (one that ran out meanwhile ends at once, as its timer would have ended it). One that
        cannot be pending any more (its owner lost the conversation, the agent it was asked of is
        gone) ends ``expired`` when the Router runs; owners without a socket hear results after
        their next welcome."""
        effects = self.transfers.restore(p.transfer_id, p.conversation_id, p.from_id, agent_id=p.agent_id,
                                         queue=p.queue, note=p.note, target_id=p.target_id, asked=p.asked,
                                         now=trio.current_time())
        if effects is None:
            target = p.target_id if p.target_id in self.state.agents else None
            self._deferred.append(TransferClosed(p.transfer_id, p.conversation_id, p.from_id, target, "expired",
                                                 True, p.note))
            return
        self._deferred += effects
        expires = p.expires_at or utc_now()     # a row of an engine that did not store it: over now
        self._transfer_expires[p.transfer_id] = expires
        if p.target_id is not None:
            frame = self._transfer_frame(p.transfer_id, p.conversation_id, p.from_id, p.queue, p.note, expires)
            self._transfer_frames[p.transfer_id] = (p.target_id, frame)
        self._arm_transfer_timer(p.transfer_id, p.target_id, max(0.0, (expires - utc_now()).total_seconds()))

    # ---- the actor -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._publish_positions()  # gauges exist from the start, not only after the first tick
                task_status.started()
                await self._resume_after_rebuild()
                async for command in self.inbox:
                    await self._handle(command)
        finally:
            self._nursery = None

    async def _handle(self, command: RouterCommand) -> None:
        self.handling = command
        try:
            if self._faults is not None:
                self._faults.check("router", command)
            await self._apply(await _HANDLERS[type(command)](self, command))
            if not isinstance(command, Tick) and self._tick is None:
                self._tick = self._timers.after(POSITION_TICK_S, lambda: self._post(Tick()))
        except EngineError as exc:
            session = getattr(command, "session", None)
            if session is not None:
                session.deliver(encode(exc.to_event()))
        except Exception:
            # the routing state may be half changed: the supervisor rebuilds it (supervisor/restore.py)
            self._crashed = command
            raise
        self.handling = None

    async def _resume_after_rebuild(self) -> None:
        """Carry out what the rebuild decided (offers to the agents back online), then answer the
        command that crashed if someone waits for it."""
        deferred, self._deferred = self._deferred, []
        await self._apply(deferred)
        crashed, self._crashed = self._crashed, None
        if crashed is None:
            return
        if getattr(crashed, "reply", None) is None:
            session = getattr(crashed, "session", None)
            if session is not None:     # its client may try again (PROTOCOL.md §13)
                session.deliver(encode(EngineError("unavailable", "the engine could not handle this; "
                                                   "try again").to_event()))
            return
        if isinstance(crashed, Enqueue):
            # the rebuild found the new chat in its Conversation already: answer its position
            assert crashed.reply is not None
            crashed.reply.send_nowait(self.state.position(crashed.conversation_id) or 0)
            return
        await self._handle(crashed)     # a second crash of the same command is a new crash

    # ---- a rebuild after a crash (driven by supervisor/restore.py) ---------------------------

    def reset(self) -> list[tuple[str, str]]:
        """Forget the routing state, keeping the inbox, the queue settings and the results owners
        have still to hear. Returns the frames (agent id, frame) that tell agents their pending offers
        and invitations are gone; pending transfers say nothing: the rebuild restores them from the
        database (``restore_transfer``)."""
        frames: list[tuple[str, str]] = []
        for offer in self.state.offers.values():
            frames.append((offer.agent_id, encode({
                "type": "offer_revoked", "offer_id": offer.id, "conversation_id": offer.conversation_id,
                "reason": "agent_unavailable"})))
        for inv in self.desk.by_id.values():
            frames.append((inv.inviter_id, encode({"type": "invitation_result", "invitation_id": inv.id,
                                                   "status": "expired", "conversation_id": inv.conversation_id})))
        timers = [p.timer for p in self._pending.values()] + list(self._invitation_timers.values()) + [self._tick]
        timers += list(self._transfer_timers.values())
        for timer in timers:
            if timer is not None:
                timer.cancel()
        missed = self.state.missed_offers_away
        self.state = RoutingState(missed_offers_away=missed)
        self.desk = InvitationDesk(self.state)
        self.transfers = TransferDesk(self.state)
        self._transfer_timers.clear()
        self._transfer_frames.clear()
        self._transfer_expires.clear()
        self._told_per_place.clear()
        self._entered.clear()
        self._status_written.clear()
        self._invitation_timers.clear()
        self._invitation_frames.clear()
        self._floor_touched.clear()
        self._info.clear()
        self._pending.clear()
        self._tick = None
        self._deferred = []
        return frames

    def reconnect_agent(self, agent_id: str, presence: str, connected: bool) -> None:
        """An agent signed in before the rebuild is online again, with ``presence``; the offers this
        makes are carried out when the Router runs again."""
        if agent_id not in self.state.agents:
            return
        now = trio.current_time()
        self._deferred += self.state.agent_connected(agent_id, presence, now)
        if not connected:       # within its reconnect grace
            self._deferred += self.state.agent_disconnected(agent_id)

    # ---- commands: each changes the state and returns the effects to carry out ---------------

    async def _enqueue(self, c: Enqueue) -> Effects:
        st = self.state
        now = trio.current_time()
        if c.conversation_id in self._info:
            # already routed: a rebuild found the chat in its Conversation before this command came
            if c.reply is not None:
                c.reply.send_nowait(st.position(c.conversation_id) or 0)
            return ()
        if c.queue not in st.queues:
            st.add_queue(c.queue)
        self._info[c.conversation_id] = {**c.info, "queue": c.queue, "since": time.time()}
        self._floor_touched.add(c.conversation_id)
        key = c.queue_key if c.queue_key is not None else st.next_queue_key()
        effects = st.enqueue(c.conversation_id, c.queue, key, now, c.prefer)
        position = st.position(c.conversation_id)
        if position is not None:  # still waiting (not offered and taken at once)
            self._entered[c.conversation_id] = (now, position)
            conv = self._conversations.get(c.conversation_id)
            if conv is not None:
                conv.post_position(position, self.estimator.estimate(c.queue, position, now))
        if c.reply is not None:
            c.reply.send_nowait(position or 0)
        return effects

    async def _reload_queues(self, c: ReloadQueues) -> Effects:
        self._queue_configs = c.configs
        metrics.QUEUE_SETTINGS_RELOADS.inc()
        for name in c.configs:
            self.state.add_queue(name)
        return ()

    async def _agent_online(self, c: AgentOnline) -> Effects:
        p = c.profile
        self.state.upsert_agent(p.agent_id, p.name, p.queues, p.capacity)
        if p.role == "supervisor":
            self.supervisors.add(p.agent_id)
        await self._apply(self.state.agent_connected(p.agent_id, c.chosen_presence, trio.current_time()))
        # signing in and out enter the presence log too: the dashboard's occupancy and staffing read it
        await self._persister.post([queries.log_presence(p.agent_id, c.chosen_presence, "system")], p.agent_id)
        c.reply.send_nowait(self._snapshot(p.agent_id))
        return ()

    async def _take_snapshot(self, c: TakeSnapshot) -> Effects:
        agent = self.state.agents[c.agent_id]
        if not agent.connected and agent.presence != OFFLINE:
            # a socket came back within the reconnect grace: connected again, presence kept
            await self._apply(self.state.agent_connected(c.agent_id, agent.presence, trio.current_time()))
        c.reply.send_nowait(self._snapshot(c.agent_id))
        return ()

    async def _agent_disconnected(self, c: AgentDisconnected) -> Effects:
        return self.state.agent_disconnected(c.agent_id) if c.agent_id in self.state.agents else ()

    async def _agent_offline(self, c: AgentOffline) -> Effects:
        if c.agent_id not in self.state.agents:
            return ()
        return await self._offline(c.agent_id)

    async def _offline(self, agent_id: str) -> Effects:
        """The agent is gone: its invitations and transfers, asked or sent, are over, then its chats wait again."""
        now = trio.current_time()
        self.state.agent_disconnected(agent_id)     # what it is told from now on waits for its next welcome
        await self._apply(self.desk.agent_offline(agent_id, now))
        await self._apply(self.transfers.agent_offline(agent_id, now))
        await self._persister.post([queries.log_presence(agent_id, OFFLINE, "system")], agent_id)
        return self.state.agent_offline(agent_id, now)

    async def _set_presence(self, c: SetPresence) -> Effects:
        agent = self.state.agents.get(c.agent_id)
        if agent is None or agent.presence == OFFLINE:
            raise EngineError("forbidden", "sign in before setting presence", field="state")
        return self.state.set_presence(c.agent_id, c.state, trio.current_time(), by="agent")

    async def _accept_offer(self, c: AcceptOffer) -> Effects:
        return self.state.accept(c.agent_id, c.offer_id, trio.current_time())

    async def _reject_offer(self, c: RejectOffer) -> Effects:
        return self.state.reject(c.agent_id, c.offer_id, c.reason, trio.current_time())

    async def _offer_timed_out(self, c: OfferTimedOut) -> Effects:
        return self.state.expire(c.offer_id, trio.current_time())

    async def _conversation_closed(self, c: ConversationClosed) -> Effects:
        now = trio.current_time()
        self._floor_touched.add(c.conversation_id)
        await self._apply(self.desk.conversation_closed(c.conversation_id, now))
        await self._apply(self.transfers.cancel(c.conversation_id, now))
        self._info.pop(c.conversation_id, None)
        self._entered.pop(c.conversation_id, None)
        return self.state.customer_left(c.conversation_id, now)

    async def _invite(self, c: Invite) -> Effects:
        if c.agent_id in self.supervisors:      # supervisors join by themselves; nobody invites them
            raise EngineError("not_found", "no such agent", field="agent_id")
        busy = c.conversation_id in self.transfers.by_conversation
        await self._apply(self.desk.invite(c.conversation_id, c.inviter_id, agent_id=c.agent_id, queue=c.queue,
                                           now=trio.current_time(), busy=busy), invite=c)
        return ()

    async def _transfer(self, c: TransferConversation) -> Effects:
        if c.agent_id in self.supervisors:      # supervisors take over by themselves; nobody transfers to them
            raise EngineError("not_found", "no such agent", field="agent_id")
        return self.transfers.request(c.conversation_id, c.from_id, agent_id=c.agent_id, queue=c.queue, note=c.note,
                                      now=trio.current_time(), busy=lambda cid: cid in self.desk.by_conversation)

    async def _answer_transfer(self, c: AnswerTransfer) -> Effects:
        return self.transfers.answer(c.agent_id, c.transfer_id, c.accept, trio.current_time())

    async def _transfer_timed_out(self, c: TransferTimedOut) -> Effects:
        return self.transfers.expire(c.transfer_id, c.target_id, trio.current_time())

    async def _answer_invitation(self, c: AnswerInvitation) -> Effects:
        return self.desk.answer(c.agent_id, c.invitation_id, c.accept, trio.current_time())

    async def _invitation_timed_out(self, c: InvitationTimedOut) -> Effects:
        return self.desk.expire(c.invitation_id, c.invitee_id, trio.current_time())

    async def _agent_left(self, c: AgentLeft) -> Effects:
        agent = self.state.agents.get(c.agent_id)
        if agent is None or c.conversation_id not in agent.joined:
            return ()
        self._floor_touched.add(c.conversation_id)
        return self.state.change_load(c.agent_id, trio.current_time(), leave=c.conversation_id)

    async def _adopt(self, c: Adopt) -> Effects:
        self._info[c.conversation_id] = {**c.info, "queue": c.queue, "assigned_at": time.time()}
        self._floor_touched.add(c.conversation_id)
        if c.agent_id in self.state.agents:
            self.state.add_queue(c.queue)
            self.state.restore_open(c.conversation_id, c.queue, c.agent_id, c.queue_key)
        return ()

    async def _update_agent(self, c: UpdateAgent) -> Effects:
        p = c.profile
        return self.state.update_agent(p.agent_id, p.name, p.queues, p.capacity, trio.current_time())

    async def _disable_agent(self, c: DisableAgent) -> Effects:
        agent = self.state.agents.get(c.agent_id)
        if agent is None:
            return ()
        await self._apply(await self._offline(c.agent_id))
        # kept (its open chats' history names it) but never eligible again until enabled
        self.state.upsert_agent(c.agent_id, agent.name, frozenset(), 0)
        return ()

    async def _on_tick(self, c: Tick) -> Effects:
        self._tick = None
        metrics.ROUTER_TICKS.inc()
        self._publish_positions()
        changed = await self._write_agent_status()
        self._publish_floor(changed)
        return ()

    # ---- supervisors (PROTOCOL.md §8): each decision is logged with who made it, in the write
    # ---- before the conversation's own (the same key: committed first)

    def _supervisor(self, supervisor_id: str) -> None:
        """The supervisor is signed in as far as routing knows (its hello made it so)."""
        if supervisor_id not in self.supervisors or supervisor_id not in self.state.agents:
            raise EngineError("forbidden", "only a signed-in supervisor may do this", field="type")

    def _online_agent(self, agent_id: str) -> None:
        """``agent_id`` is an agent (no supervisor) who is signed in, whatever its presence."""
        agent = self.state.agents.get(agent_id)
        if agent is None or agent_id in self.supervisors:
            raise EngineError("not_found", "no such agent", field="agent_id")
        if not agent.connected or agent.presence == OFFLINE:
            raise EngineError("invalid_value", "that agent is not online", field="agent_id")

    def _running(self, conversation_id: str) -> None:
        if conversation_id not in self.state.waiting and conversation_id not in self.state.owner_of:
            raise EngineError("not_found", "no such conversation", field="conversation_id")

    async def _supervise_join(self, c: SuperviseJoin) -> Effects:
        self._supervisor(c.supervisor_id)
        self._running(c.conversation_id)
        if c.conversation_id in self.state.waiting:
            raise EngineError("invalid_value", "the conversation waits for an agent: take it over or reassign it",
                              field="conversation_id")
        if c.supervisor_id in self.state.participants(c.conversation_id):
            raise EngineError("invalid_value", "you take part in this conversation already", field="conversation_id")
        await self._persister.post([log_action(c.supervisor_id, "join", c.conversation_id)], c.conversation_id)
        effects = self.state.change_load(c.supervisor_id, trio.current_time(), join=c.conversation_id)
        return [Joined(c.conversation_id, c.supervisor_id), *effects]

    async def _take_over(self, c: TakeOver) -> Effects:
        self._supervisor(c.supervisor_id)
        self._running(c.conversation_id)
        effects = self._change_owner(c.conversation_id, c.supervisor_id, previous_stays=True)
        await self._persister.post([log_action(c.supervisor_id, "take_over", c.conversation_id)], c.conversation_id)
        return effects

    async def _reassign(self, c: Reassign) -> Effects:
        self._supervisor(c.supervisor_id)
        self._running(c.conversation_id)
        self._online_agent(c.agent_id)
        effects = self._change_owner(c.conversation_id, c.agent_id, previous_stays=False)
        await self._persister.post([log_action(c.supervisor_id, "reassign", c.conversation_id, c.agent_id)],
                                   c.conversation_id)
        return effects

    def _change_owner(self, conversation_id: str, agent_id: str, *, previous_stays: bool) -> Effects:
        """A supervisor's new owner; a transfer pending for the conversation is over (its owner hears
        ``expired``, its target's card is revoked), as when its owner went offline."""
        now = trio.current_time()
        effects = self.state.change_owner(conversation_id, agent_id, now, previous_stays=previous_stays)
        return [*self.transfers.cancel(conversation_id, now, "owner_changed"), *effects]

    async def _set_agent_presence(self, c: SetAgentPresence) -> Effects:
        self._supervisor(c.supervisor_id)
        self._online_agent(c.agent_id)
        await self._persister.post([log_action(c.supervisor_id, "set_agent_presence", agent_id=c.agent_id,
                                               detail=c.state)], c.agent_id)
        return self.state.set_presence(c.agent_id, c.state, trio.current_time(), by="supervisor")

    def queue_view(self, name: str) -> QueueView | None:
        """What a customer's page needs to know of queue ``name`` now; None for an unknown queue.

        Called by the HTTP routes directly, not through the inbox: a chat's POST would otherwise
        wait behind every command queued before it, in a burst of new chats. It is
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

    def queue_mode(self, name: str) -> str:
        """``live`` or ``messaging``; read directly, as ``queue_view`` (no await, changes nothing)."""
        config = self._queue_configs.get(name)
        return config.mode if config is not None else "live"

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
            invitations=[frame for invitee, frame in self._invitation_frames.values() if invitee == agent_id],
            transfers=[frame for target, frame in self._transfer_frames.values() if target == agent_id],
            transfers_sent=[self._sent_view(t) for t in self.transfers.sent_by(agent_id)],
            results=self._untold.pop(agent_id, []),
            floor=floor_view(self.state, self._info, self.supervisors) if agent_id in self.supervisors else None)

    def _sent_view(self, t: Transfer) -> dict[str, Any]:
        """One of the agent's own pending transfers, as its welcome lists it (``transfers_sent``)."""
        named = self.state.agents.get(t.agent_id) if t.agent_id is not None else None
        expires = self._transfer_expires.get(t.id)
        return {"transfer_id": t.id, "conversation_id": t.conversation_id,
                "agent": {"id": named.id, "name": named.name} if named is not None else None,
                "to_queue": t.queue, "note": t.note, "expires_at": iso(expires) if expires is not None else None}

    # ---- effects ---------------------------------------------------------------------------

    async def _apply(self, effects: Effects, invite: Invite | None = None) -> None:
        # an accepted offer's close goes into the assignment's write (one write per chat, not two);
        # routing.accept puts the close before the Assigned effect
        closes: dict[str, Statement] = {}
        handed: dict[str, TransferClosed] = {}      # an accepted transfer, for the ownership change after it
        for e in effects:
            if isinstance(e, OfferMade):
                await self._offer_made(e)
            elif isinstance(e, OfferClosed):
                await self._offer_closed(e, closes if e.outcome == "accepted" else None)
            elif isinstance(e, Assigned):
                self._measure_wait(e.conversation_id)
                self._assigned(e.conversation_id)
                conv = self._conversations.get(e.conversation_id)
                agent = self.state.agents[e.agent_id]
                close = closes.pop(e.conversation_id, None)
                also = [close] if close is not None else []
                if conv is not None:
                    conv.post_assign(e.agent_id, agent.name, also)
                elif also:
                    await self._persister.post(also, e.conversation_id)
            elif isinstance(e, Requeued):
                self._floor_touched.add(e.conversation_id)
                info = self._info.get(e.conversation_id)
                if info is not None:
                    info["since"] = time.time()
                position = self.state.position(e.conversation_id) or 1
                self._entered[e.conversation_id] = (trio.current_time(), position)
                conv = self._conversations.get(e.conversation_id)
                if conv is not None:
                    conv.post_requeue(e.agent_id, e.queue_key, position)
            elif isinstance(e, PresenceChanged):
                await self._presence_changed(e)
            elif isinstance(e, LeftConversation):
                self._floor_touched.add(e.conversation_id)
                conv = self._conversations.get(e.conversation_id)
                if conv is not None:
                    conv.post_agent_gone(e.agent_id)
            elif isinstance(e, InvitationOffered):
                await self._invitation_offered(e, invite)
            elif isinstance(e, InvitationClosed):
                await self._invitation_closed(e)
            elif isinstance(e, Joined):
                self._floor_touched.add(e.conversation_id)
                conv = self._conversations.get(e.conversation_id)
                if conv is not None:
                    conv.post_join(e.agent_id, self.state.agents[e.agent_id].name)
            elif isinstance(e, TransferOffered):
                await self._transfer_offered(e)
            elif isinstance(e, TransferWaiting):
                await self._transfer_waiting(e)
            elif isinstance(e, TransferClosed):
                if e.status == "accepted":
                    self._stop_transfer_timer(e.transfer_id)
                    handed[e.conversation_id] = e
                else:
                    await self._transfer_closed(e)
            elif isinstance(e, OwnerChanged):
                await self._owner_changed(e, handed.pop(e.conversation_id, None))
            elif isinstance(e, ClaimServed):
                await self._apply(self.transfers.claimed(e.claim_id, e.agent_id, trio.current_time()))
        for conversation_id, close in closes.items():   # none expected (an accept always assigns); never lost
            await self._persister.post([close], conversation_id)

    async def _transfer_offered(self, e: TransferOffered) -> None:
        created = utc_now()
        expires = created + timedelta(seconds=self._offer_timeout_s)
        statements = []
        if e.first:
            statements.append(queries.insert_transfer(e.transfer_id, e.conversation_id, e.from_id, e.target_id,
                                                      e.queue, e.note, created, expires))
        else:
            statements.append(queries.transfer_asked(e.transfer_id, e.target_id, expires))
        await self._persister.post(statements, e.conversation_id)
        frame = self._transfer_frame(e.transfer_id, e.conversation_id, e.from_id, e.queue, e.note, expires)
        self._transfer_frames[e.transfer_id] = (e.target_id, frame)
        self._transfer_expires[e.transfer_id] = expires
        deliver_to_agent(self._agents, e.target_id, encode(frame))
        self._arm_transfer_timer(e.transfer_id, e.target_id, self._offer_timeout_s)

    def _transfer_frame(self, transfer_id: str, conversation_id: str, from_id: str, to_queue: str | None,
                        note: str | None, expires: datetime) -> dict[str, Any]:
        owner = self.state.agents[from_id]
        info = self._info.get(conversation_id, {})
        return {"type": "transfer_offer", "transfer_id": transfer_id, "conversation_id": conversation_id,
                "from": {"id": owner.id, "name": owner.name}, "customer": info.get("customer"),
                "queue": info.get("queue"), "to_queue": to_queue, "note": note, "expires_at": iso(expires)}

    async def _transfer_waiting(self, e: TransferWaiting) -> None:
        created = utc_now()
        expires = created + timedelta(seconds=self._offer_timeout_s)
        await self._persister.post([queries.insert_transfer(e.transfer_id, e.conversation_id, e.from_id, None,
                                                            e.queue, e.note, created, expires)], e.conversation_id)
        self._transfer_expires[e.transfer_id] = expires
        self._arm_transfer_timer(e.transfer_id, None, self._offer_timeout_s)

    def _arm_transfer_timer(self, transfer_id: str, target_id: str | None, seconds: float) -> None:
        old = self._transfer_timers.pop(transfer_id, None)     # the head's wait, when a member took it
        if old is not None:
            old.cancel()
        self._transfer_timers[transfer_id] = self._timers.after(
            seconds, lambda: self._post(TransferTimedOut(transfer_id, target_id)))

    def _stop_transfer_timer(self, transfer_id: str) -> None:
        timer = self._transfer_timers.pop(transfer_id, None)
        self._transfer_frames.pop(transfer_id, None)
        self._transfer_expires.pop(transfer_id, None)
        if timer is not None:
            timer.cancel()

    def _tell_owner(self, agent_id: str, frame: str) -> None:
        """``frame`` to a transfer's owner now, or after its next welcome when it has no socket."""
        agent = self.state.agents.get(agent_id)
        if agent is not None and agent.connected:
            deliver_to_agent(self._agents, agent_id, frame)
        else:
            self._untold.setdefault(agent_id, []).append(frame)

    async def _transfer_closed(self, e: TransferClosed) -> None:
        """A declined, expired or cancelled turn: the target's card goes; when final, the owner hears
        the result (the stored one: a cancelled transfer is ``expired``, with its ``reason`` when a
        supervisor gave the conversation to someone)."""
        self._stop_transfer_timer(e.transfer_id)
        if e.target_id is not None and e.status != "declined":
            deliver_to_agent(self._agents, e.target_id, encode(
                _transfer_revoked(e.transfer_id, e.conversation_id, e.reason or e.stored_status)))
        if not e.final:
            return
        await self._persister.post([queries.close_transfer(e.transfer_id, e.stored_status, utc_now())],
                                   e.conversation_id)
        result = _transfer_result(e.transfer_id, e.conversation_id, e.stored_status)
        if e.reason is not None:
            result["reason"] = e.reason
        self._tell_owner(e.from_id, encode(result))

    async def _owner_changed(self, e: OwnerChanged, handed: TransferClosed | None) -> None:
        """The conversation stores and announces its new owner; an accepted transfer's close, note
        and result go with that one write (announced only after it is committed)."""
        self._floor_touched.add(e.conversation_id)
        agent = self.state.agents[e.agent_id]
        at = utc_now()      # the transfer's decided_at is the previous owner's left_at: the log pairs them
        also: list[Statement] = []
        note = tell_previous = None
        if handed is not None:
            also.append(queries.close_transfer(handed.transfer_id, "accepted", at))
            note = handed.note
            tell_previous = encode(_transfer_result(handed.transfer_id, e.conversation_id, "accepted"))
        conv = self._conversations.get(e.conversation_id)
        if conv is not None:
            conv.post_change_owner(e.agent_id, agent.name, e.previous_id, previous_stays=e.previous_stays, note=note,
                                   also=also, tell_previous=tell_previous, at=at)
            return
        if also:
            await self._persister.post(also, e.conversation_id)
        if tell_previous is not None:
            deliver_to_agent(self._agents, e.previous_id, tell_previous)

    async def _invitation_offered(self, e: InvitationOffered, invite: Invite | None) -> None:
        created = utc_now()
        statements = []
        if invite is not None:
            statements.append(queries.insert_invitation(e.invitation_id, e.conversation_id, e.inviter_id,
                                                        invite.agent_id, invite.queue, created))
        statements.append(queries.invitation_asked(e.invitation_id, e.invitee_id))
        await self._persister.post(statements, e.conversation_id)
        inviter = self.state.agents[e.inviter_id]
        info = self._info.get(e.conversation_id, {})
        frame = {"type": "invitation", "invitation_id": e.invitation_id, "conversation_id": e.conversation_id,
                 "from": {"id": inviter.id, "name": inviter.name}, "customer": info.get("customer"),
                 "queue": info.get("queue"), "expires_at": iso(created + timedelta(seconds=self._offer_timeout_s))}
        self._invitation_frames[e.invitation_id] = (e.invitee_id, frame)
        deliver_to_agent(self._agents, e.invitee_id, encode(frame))
        self._invitation_timers[e.invitation_id] = self._timers.after(
            self._offer_timeout_s, lambda: self._post(InvitationTimedOut(e.invitation_id, e.invitee_id)))

    async def _invitation_closed(self, e: InvitationClosed) -> None:
        timer = self._invitation_timers.pop(e.invitation_id, None)
        self._invitation_frames.pop(e.invitation_id, None)
        if timer is not None:
            timer.cancel()
        if not e.final:
            return
        await self._persister.post([queries.close_invitation(e.invitation_id, e.status, utc_now())],
                                       e.conversation_id)
        # the protocol knows accepted | declined | expired; a cancelled invitation did not happen
        status = "expired" if e.status == "cancelled" else e.status
        deliver_to_agent(self._agents, e.inviter_id, encode({"type": "invitation_result",
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
        await self._persister.post([queries.insert_offer(e.offer_id, e.conversation_id, e.agent_id,
                                                             created, expires)],
                                       e.conversation_id)
        deliver_to_agent(self._agents, e.agent_id, encode(frame))
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
            await self._persister.post([close], e.conversation_id)
        metrics.OFFERS.labels(e.outcome).inc()
        if e.outcome in ("expired", "revoked"):
            reason = "expired" if e.outcome == "expired" else (e.reason or "agent_unavailable")
            deliver_to_agent(self._agents, e.agent_id, encode(
                {"type": "offer_revoked", "offer_id": e.offer_id, "conversation_id": e.conversation_id,
                 "reason": reason}))

    async def _presence_changed(self, e: PresenceChanged) -> None:
        statements = [queries.log_presence(e.agent_id, e.state, e.by)]
        if e.by in ("agent", "supervisor"):     # a supervisor's choice stands as the agent's own
            statements.append(queries.set_chosen_presence(e.agent_id, e.state))
        await self._persister.post(statements, e.agent_id)
        deliver_to_agent(self._agents, e.agent_id, encode({"type": "presence", "state": e.state}))

    async def _write_agent_status(self) -> list[str]:
        """Keep ``agent_status`` current for the dashboard: rows that changed since last time (their
        agents are returned). Supervisors are no agents: they have no row."""
        rows = []
        for a in self.state.agents.values():
            if a.id in self.supervisors:
                continue
            row = (a.presence if a.connected else OFFLINE, len(a.open) + len(a.joined), len(a.offers) + a.transfers,
                   a.invitations, a.capacity)
            if self._status_written.get(a.id) != row:
                self._status_written[a.id] = row
                rows.append((a.id, *row))
        if rows:
            await self._persister.post([queries.upsert_agent_statuses(rows)], "agent_status")
        return [r[0] for r in rows]

    def _assigned(self, conversation_id: str) -> None:
        self._floor_touched.add(conversation_id)
        info = self._info.get(conversation_id)
        if info is not None:
            info["assigned_at"] = time.time()

    def _publish_floor(self, agents_changed: list[str]) -> None:
        """What changed on the floor since the last tick, to every supervisor signed in (one event)."""
        touched, self._floor_touched = self._floor_touched, set()
        online = [s for s in self.supervisors if self.state.agents[s].connected]
        if not online:
            return
        event = floor_changes(self.state, self._info, touched, agents_changed)
        if event is not None:
            frame = encode(event)
            for supervisor_id in online:
                deliver_to_agent(self._agents, supervisor_id, frame)

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
                conv = self._conversations.get(conversation_id)
                if conv is not None:
                    conv.post_position(position, at_position(per_place, position))
        st.dirty_from.clear()
        for name, q in st.queues.items():
            metrics.QUEUE_WAITING.labels(name).set(len(q.waiting))
        counts = {AVAILABLE: 0, AWAY: 0, OFFLINE: 0}
        for a in self.state.agents.values():
            if a.id not in self.supervisors:
                counts[a.presence if a.connected else OFFLINE] += 1
        for presence, n in counts.items():
            metrics.AGENTS_BY_PRESENCE.labels(presence).set(n)


def _transfer_result(transfer_id: str, conversation_id: str, status: str) -> dict[str, Any]:
    return {"type": "transfer_result", "transfer_id": transfer_id, "status": status, "conversation_id": conversation_id}


def _transfer_revoked(transfer_id: str, conversation_id: str, reason: str) -> dict[str, Any]:
    return {"type": "transfer_revoked", "transfer_id": transfer_id, "conversation_id": conversation_id,
            "reason": reason}


# One handler per command, each a method taking that command: the Router's whole vocabulary.
_HANDLERS: dict[type[Any], Callable[[Router, Any], Awaitable[Effects]]] = {
    Enqueue: Router._enqueue,
    ReloadQueues: Router._reload_queues,
    AgentOnline: Router._agent_online,
    TakeSnapshot: Router._take_snapshot,
    AgentDisconnected: Router._agent_disconnected,
    AgentOffline: Router._agent_offline,
    SetPresence: Router._set_presence,
    AcceptOffer: Router._accept_offer,
    RejectOffer: Router._reject_offer,
    OfferTimedOut: Router._offer_timed_out,
    ConversationClosed: Router._conversation_closed,
    Invite: Router._invite,
    AnswerInvitation: Router._answer_invitation,
    InvitationTimedOut: Router._invitation_timed_out,
    TransferConversation: Router._transfer,
    AnswerTransfer: Router._answer_transfer,
    TransferTimedOut: Router._transfer_timed_out,
    AgentLeft: Router._agent_left,
    Adopt: Router._adopt,
    UpdateAgent: Router._update_agent,
    DisableAgent: Router._disable_agent,
    Tick: Router._on_tick,
    SuperviseJoin: Router._supervise_join,
    TakeOver: Router._take_over,
    Reassign: Router._reassign,
    SetAgentPresence: Router._set_agent_presence,
}
