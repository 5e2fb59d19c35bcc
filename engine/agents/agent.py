"""AgentActor: one per signed-in agent — its sockets, its welcome and its reconnect grace.

A supervisor's sockets have one too (``profile.role`` ``supervisor``): it brings the events of the
conversations the supervisor joined or took over, and the Router's ``floor`` events, to each of
them; its welcome is a supervisor's (the floor instead of presence and offers).

Every event for an agent (offers from the Router, messages from Conversations) comes through
its AgentActor, which hands it to each of the agent's sockets. While the actor is idle with
nothing in its inbox, ``deliver`` does that at once in the caller's task (what the actor would
do next anyway); otherwise the event waits in the inbox behind what came before it. When the last socket closes,
the agent keeps its conversations and offers for ``FRONTDESK_RECONNECT_GRACE_MS``; when the
grace runs out the Router is told the agent is offline (offers revoked, conversations back
to the head of their queues) and the actor stops.

Resume (PROTOCOL.md §5.3): for each conversation named in ``hello.resume`` the actor asks the
Conversation to replay what came after the given seq to that one socket. Until that replay
arrives, live events of the conversation are withheld from the socket: the replay holds
everything the conversation had sent before it, so nothing is lost and nothing comes twice
or out of order.

Resource handling: a socket whose outbox overflows is closed by its Session (1013); if this
actor's own inbox overflows, it closes every socket of the agent (they resume).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from frontdesk.engine.conversations.conversation import Conversation
from frontdesk.engine.conversations.model import ReplayToAgent, Summarize
from frontdesk.engine.protocol.frames import encode
from frontdesk.engine.routing.commands import (
    AgentDisconnected,
    AgentOffline,
    AgentOnline,
    AgentProfile,
    AgentSnapshot,
    TakeSnapshot,
)
from frontdesk.engine.routing.router import Router
from frontdesk.engine.runtime.config import ACTOR_INBOX_SIZE
from frontdesk.engine.runtime.faults import Faults
from frontdesk.engine.runtime.outlet import Ack, Outlet
from frontdesk.engine.runtime.registry import Lookup
from frontdesk.engine.runtime.timers import Timer, Timers

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Attach:
    session: Outlet
    resume: dict[str, int]
    reply: trio.MemorySendChannel[bool]   # False: this actor is stopping, start a new one


@dataclass(eq=False)
class DetachSocket:
    session: Outlet


@dataclass(eq=False)
class Deliver:
    frame: str
    conversation_id: str | None
    ack: Ack | None = None      # the sender's socket and its ack, written first


@dataclass(eq=False)
class Replay:
    session: Outlet
    conversation_id: str
    frames: list[str]


@dataclass(eq=False)
class GraceOver:
    pass


AgentCommand = Attach | DetachSocket | Deliver | Replay | GraceOver


@dataclass(frozen=True, slots=True, eq=False)
class AgentContext:
    """What every AgentActor works with, made once by the supervisor and shared."""

    router: Router
    conversations: Lookup[Conversation]
    timers: Timers
    spill: Callable[..., None]     # sends a command to a full inbox from a helper task (ActorMap.send_later)
    reconnect_grace_s: float
    faults: Faults | None = None   # tests only (runtime/faults.py)


class AgentActor:
    def __init__(self, context: AgentContext, profile: AgentProfile, chosen_presence: str):
        self._ctx = context
        self.agent_id = profile.agent_id
        self.profile = profile
        self.chosen_presence = chosen_presence
        self.handling: AgentCommand | None = None      # for the supervisor's log of a crash
        self._online = False                                  # told the Router we are connected
        self._sockets: dict[Outlet, set[str]] = {}       # socket -> conversations awaiting replay
        self._grace: Timer | None = None
        self._send, self.inbox = trio.open_memory_channel[AgentCommand](ACTOR_INBOX_SIZE)
        self._overflowed = False
        # ``deliver`` may act at once only while the actor is idle and its inbox holds nothing
        self._busy = False
        self._pending = 0       # commands sent (or being sent) and not yet taken by the actor

    # ---- API (never blocks) ------------------------------------------------------------------

    @property
    def online(self) -> bool:
        """Signed in as far as the Router knows (sockets attached, or within the reconnect grace)."""
        return self._online

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    def deliver(self, frame: str, conversation_id: str | None = None,
                ack: Ack | None = None) -> None:
        """``frame`` to every socket of the agent; with ``ack`` = (socket, frame), the agent's own
        message: that socket gets its ack and the message in one write."""
        if not self._busy and self._pending == 0:
            # the actor is idle with nothing queued: handling the frame here is exactly what it would
            # do next, minus a task switch per frame
            self._deliver_now(frame, conversation_id, ack)
        else:
            self._post_or_flag(Deliver(frame, conversation_id, ack))

    def post_replay(self, session: Outlet, conversation_id: str, frames: list[str]) -> None:
        self._post_or_flag(Replay(session, conversation_id, frames))

    def _post(self, command: AgentCommand) -> None:
        self._pending += 1      # counted before sending: a waiting actor gets it without the buffer
        try:
            self._send.send_nowait(command)
        except BaseException:
            self._pending -= 1
            raise

    def _post_or_flag(self, command: AgentCommand) -> None:
        try:
            self._post(command)
        except trio.WouldBlock:
            self._overflowed = True   # handled by the actor: its sockets close and resume
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the agent went offline

    async def attach(self, session: Outlet, resume: dict[str, int]) -> bool:
        reply_send, reply_recv = trio.open_memory_channel[bool](1)
        try:
            await self._send_waiting(Attach(session, resume, reply_send))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return await reply_recv.receive()

    def detach(self, session: Outlet) -> None:
        try:
            self._post(DetachSocket(session))
        except trio.WouldBlock:
            self._ctx.spill(self._send_waiting, DetachSocket(session))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def _send_waiting(self, command: AgentCommand) -> None:
        self._pending += 1
        try:
            await self._send.send(command)
        except BaseException:
            self._pending -= 1
            raise

    # ---- the actor -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            self._start_grace()  # started with no socket (e.g. at engine start) it runs out
            task_status.started()
            async for command in self.inbox:
                self._pending -= 1
                self._busy = True
                self.handling = command
                try:
                    if self._ctx.faults is not None:
                        self._ctx.faults.check("agent", command)
                    if await self._handle(command):
                        break
                finally:
                    self._busy = False
                    self.handling = None
                if self._overflowed:
                    self._overflowed = False
                    for s in list(self._sockets):
                        s.overflow()
        except Exception:
            # a bug: the agent's sockets close (1013) and resume on this actor's successor
            for s in self._sockets:
                s.overflow()
            raise
        finally:
            self._busy = True       # for good: deliver() now posts, and a closed inbox drops it
            self._stop_grace()
            self.inbox.close()
            # anyone who queued an Attach after we decided to stop starts a new actor
            while True:
                try:
                    command = self.inbox.receive_nowait()
                except (trio.WouldBlock, trio.ClosedResourceError, trio.EndOfChannel):
                    break
                if isinstance(command, Attach):
                    command.reply.send_nowait(False)

    def _start_grace(self) -> None:
        self._stop_grace()
        self._grace = self._ctx.timers.after(self._ctx.reconnect_grace_s, lambda: self._post_or_flag(GraceOver()))

    def _stop_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    async def _handle(self, c: AgentCommand) -> bool:
        """Handle one command; True when the actor should stop."""
        if isinstance(c, Deliver):
            self._deliver_now(c.frame, c.conversation_id, c.ack)
        elif isinstance(c, Replay):
            waiting_for = self._sockets.get(c.session)
            if waiting_for is not None and c.conversation_id in waiting_for:
                for frame in c.frames:
                    c.session.deliver(frame)
                waiting_for.discard(c.conversation_id)
        elif isinstance(c, Attach):
            await self._attach(c)
        elif isinstance(c, DetachSocket):
            self._sockets.pop(c.session, None)
            if not self._sockets and self._online:
                await self._ctx.router.send(AgentDisconnected(self.agent_id))
                self._start_grace()
        elif isinstance(c, GraceOver):
            if not self._sockets:
                await self._ctx.router.send(AgentOffline(self.agent_id))
                return True
        return False

    def _deliver_now(self, frame: str, conversation_id: str | None,
                     ack: Ack | None = None) -> None:
        acked = ack is None
        for s, awaiting in self._sockets.items():
            wanted = conversation_id is None or conversation_id not in awaiting   # not while it replays
            if ack is not None and s is ack[0]:
                if wanted:
                    s.deliver_together(ack[1], frame)
                else:
                    s.deliver(ack[1])
                acked = True
            elif wanted:
                s.deliver(frame)
        if not acked:
            assert ack is not None
            ack[0].deliver(ack[1])      # the socket has gone from the actor meanwhile: its ack still counts

    async def _attach(self, c: Attach) -> None:
        self._stop_grace()
        snapshot: AgentSnapshot
        if not self._online:
            snapshot = await self._ctx.router.call(
                lambda reply: AgentOnline(self.profile, self.chosen_presence, reply))
            self._online = True
        else:
            snapshot = await self._ctx.router.call(lambda reply: TakeSnapshot(self.agent_id, reply))
        conversations: list[dict[str, Any]] = []
        for conversation_id in snapshot.conversations:
            conv = self._ctx.conversations.get(conversation_id)
            if conv is None:
                continue
            reply_send, reply_recv = trio.open_memory_channel[dict[str, Any]](1)
            if await conv.send(Summarize(reply_send)):
                conversations.append(await reply_recv.receive())
        if self.profile.role == "supervisor":
            # the conversations the supervisor takes part in, and the floor: every running
            # conversation and every agent (routing/floor.py)
            c.session.deliver(encode({"type": "welcome", "role": "supervisor", "supervisor": self._agent_wire(),
                                      "conversations": conversations, "floor": snapshot.floor,
                                      "transfers_sent": snapshot.transfers_sent}))
        else:
            c.session.deliver(encode({"type": "welcome", "role": "agent", "agent": self._agent_wire(),
                                      "presence": snapshot.presence, "conversations": conversations,
                                      "offers": snapshot.offers, "invitations": snapshot.invitations,
                                      "transfers": snapshot.transfers, "transfers_sent": snapshot.transfers_sent}))
        for frame in snapshot.results:      # transfers of its own that ended while it had no socket
            c.session.deliver(frame)
        awaiting: set[str] = set()
        open_ids = {conv["conversation_id"] for conv in conversations}
        for conversation_id, after_seq in c.resume.items():
            conv = self._ctx.conversations.get(conversation_id)
            if conversation_id in open_ids and conv is not None:
                awaiting.add(conversation_id)
                conv.post(ReplayToAgent(self.agent_id, c.session, after_seq, self))
        self._sockets[c.session] = awaiting
        c.reply.send_nowait(True)

    def _agent_wire(self) -> dict[str, Any]:
        p = self.profile
        return {"id": p.agent_id, "name": p.name, "email": p.email, "capacity": p.capacity,
                "queues": sorted(p.queues)}
