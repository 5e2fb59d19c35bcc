"""Conversation: one actor per open conversation — sequence numbers, participants, fan-out.

The actor owns the conversation's messages (seq 1, 2, 3, ... without gaps), who takes part,
the customer's sockets and the customer's grace timer. A ``send`` is stored through the
Persister and only after COMMIT does the sender get its ``ack`` and the others the
``message`` (PROTOCOL.md §5.2). The actor waits for each commit before the next command: one
conversation's messages are therefore stored and delivered strictly in seq order, while the
Persister still batches many conversations into one transaction.

Only the newest messages stay in memory (``history.py``); a resume, an agent who joins, a chat
that falls back or a retry of an old ``client_id`` that reaches back further reads the database,
inside the handler of its command: the actor handles nothing else meanwhile, so a replay still
comes before any live event of the conversation (PROTOCOL.md §5.3).

Visibility (PROTOCOL.md §5.8): a private message goes to agent participants only; customer
sockets, customer resumes and the customer's welcome never see it.

Delivery never waits: customer sockets are Sessions (bounded outbox), agents are reached
through their AgentActor. Resource handling: the actor's task returns when the conversation
ends (its ``ActorMap`` then forgets it) and lets go of its customers' sessions, which stay open
and only get ``ended``; nothing refers back to an ended actor but those sessions, so it is freed
when the last of them closes.

Messaging queues (PROTOCOL.md §7): a conversation does not end when its customer leaves. Its
owner sets it ``pending`` or ``resolved`` (the customer's ``end`` resolves it): every agent leaves,
the owner is kept as the last one, and once no customer socket is attached the actor returns —
a resting conversation is rows, not an actor, until someone writes (``ConversationRoster.wake``).
A customer's message reopens it: it waits again and is offered to its last owner first. The
database stores an owned conversation as ``active``; the wire calls it ``open`` in these queues.
An agent's public message arms the customer's notification mail (sent by ``mail/notifier.py``
from the database, so a resting conversation is mailed too); a customer's message unread by the
owner after ``agent_remind_after_s`` sends the owner a ``reminder``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import trio

from frontdesk.core.errors import DatabaseError, EngineError
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.conversations import notices
from frontdesk.engine.conversations.history import DEFAULT_TAIL, History, TailLimits
from frontdesk.engine.conversations.model import (
    AgentGone,
    Assign,
    AttachCustomer,
    ChangeOwner,
    ClientFrame,
    ConversationCommand,
    ConversationRecord,
    CustomerGone,
    Detach,
    Join,
    Monitor,
    Participant,
    Position,
    RemindOwner,
    ReplayToAgent,
    Requeue,
    Sender,
    StoredMessage,
    Summarize,
    Unmonitor,
    WaitedTooLong,
    message_from_row,
)
from frontdesk.engine.conversations.monitors import Monitors
from frontdesk.engine.mail.outbox import Outbox, offline_confirmation
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.protocol.frames import encode
from frontdesk.engine.routing.commands import AgentLeft, ConversationClosed, Enqueue
from frontdesk.engine.routing.router import Router
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import ACTOR_INBOX_SIZE
from frontdesk.engine.runtime.faults import Faults
from frontdesk.engine.runtime.outlet import Ack, AgentInbox, Outlet, deliver_to_agent
from frontdesk.engine.runtime.registry import Lookup
from frontdesk.engine.runtime.timers import Timer, Timers
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import Database, Statement
from frontdesk.engine.storage.persister import Persister
from frontdesk.engine.storage.supervision import log_action

log = logging.getLogger(__name__)

MAX_SENDS_PER_WRITE = 64   # sends waiting back to back in the inbox, stored in one write
# A command whose write found the database unavailable is handled again after this long.
DATABASE_RETRY_S = 1.0
RESTING = ("pending", "resolved")     # a messaging conversation set aside


@dataclass(frozen=True, slots=True, eq=False)
class ConversationContext:
    """What every Conversation works with, made once by the supervisor and shared: an open
    conversation holds one reference, not one per service (10,000 waiting chats are 10,000 actors)."""

    db: Database
    persister: Persister
    timers: Timers
    router: Router
    agents: Lookup[AgentInbox]
    outbox: Outbox
    spill: Callable[..., None]     # sends a command to a full inbox from a helper task (ActorMap.send_later)
    max_wait_s: float
    customer_grace_s: float
    tail: TailLimits = DEFAULT_TAIL    # how much of each history stays in memory (history.py)
    faults: Faults | None = None   # tests only (runtime/faults.py)
    notify_after_s: float = 120.0  # messaging: an agent's unread public message → the customer's mail
    remind_after_s: float = 300.0  # messaging: a customer's message unread by the owner → a reminder


def is_send(command: ConversationCommand) -> bool:
    return isinstance(command, ClientFrame) and isinstance(command.command, protocol.Send)


class Conversation:
    def __init__(self, context: ConversationContext, record: ConversationRecord):
        self._ctx = context
        self.id = record.id
        self.queue = record.queue
        self.status = record.status
        # the record's fields, not the record: its messages belong to the history, which lets old ones go
        self._created_at = record.created_at
        self._customer = record.customer_info
        self._language = record.language
        self.question = record.question     # what offers show
        self._history = History(context.tail, record.messages, record.stored)
        self._participants = record.participants
        self._position = record.position
        self._estimate: int | None = None
        self._max_wait: Timer | None = None
        self._customer_read_seq = record.customer_read_seq
        self._customers: set[Outlet] = set()
        self._monitors = Monitors()       # supervisors' sockets watching without taking part
        self._grace: Timer | None = None
        self._remind: Timer | None = None
        self._last_owner = record.last_owner_id
        self._retired = False       # a resting conversation without customers: the actor returns
        self.handling: ConversationCommand | None = None     # for the supervisor's log of a crash
        self._transcript_wanted = False     # the customer's end asked for the transcript by mail
        self._send, self.inbox = trio.open_memory_channel[ConversationCommand](ACTOR_INBOX_SIZE)

    # ---- API for other actors (never blocks) -------------------------------------------------

    def post(self, command: ConversationCommand) -> None:
        try:
            self._send.send_nowait(command)
        except trio.WouldBlock:
            # the inbox is full: deliver later rather than block the caller
            self._ctx.spill(self._send.send, command)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the conversation has ended

    async def send(self, command: ConversationCommand) -> bool:
        """Wait for room in the inbox (a client's backpressure). False once it has ended."""
        try:
            await self._send.send(command)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    async def settled(self) -> dict[str, Any] | None:
        """The agent's view of the conversation once every command sent before has been handled
        (and its writes made); None once it has ended."""
        reply_send, reply_recv = trio.open_memory_channel[dict[str, Any]](1)
        if not await self.send(Summarize(reply_send)):
            return None
        try:
            return await reply_recv.receive()
        except trio.EndOfChannel:
            return None

    def post_assign(self, agent_id: str, name: str, also: Sequence[Statement] = ()) -> None:
        """Take the agent as owner; ``also`` is stored in the same write (the accepted offer's close)."""
        self.post(Assign(agent_id, name, also))

    def post_join(self, agent_id: str, name: str) -> None:
        self.post(Join(agent_id, name))

    def post_change_owner(self, agent_id: str, name: str, previous_id: str, *, previous_stays: bool = False,
                          note: str | None = None, also: Sequence[Statement] = (), tell_previous: str | None = None,
                          at: datetime | None = None) -> None:
        """Take ``agent_id`` as the new owner in place of ``previous_id`` (a routing decision made at ``at``)."""
        self.post(ChangeOwner(agent_id, name, previous_id, previous_stays, note, also, tell_previous, at))

    def post_agent_gone(self, agent_id: str) -> None:
        self.post(AgentGone(agent_id))

    def post_requeue(self, agent_id: str, queue_key: int, position: int) -> None:
        self.post(Requeue(agent_id, queue_key, position))

    def post_position(self, position: int, estimated_wait_s: int | None = None) -> None:
        self.post(Position(position, estimated_wait_s))

    # ---- the actor -------------------------------------------------------------------------

    @property
    def customer_info(self) -> dict[str, Any]:
        """The customer as offers, invitations and conversation views show them (not to be changed)."""
        return self._customer

    @property
    def last_seq(self) -> int:
        return self._history.last_seq

    @property
    def messaging(self) -> bool:
        """In a messaging queue (read from the Router's settings: a mode changed while running counts)."""
        return self._ctx.router.queue_mode(self.queue) == "messaging"

    def _wire_status(self) -> str:
        return "open" if self.status == "active" and self.messaging else self.status

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            self._start_grace()
            if self.status == "queued" and not self.messaging:
                self._start_max_wait(self._created_at)
            task_status.started()
            async with self.inbox:
                await self._serve_inbox()
                await self._store_leftovers()
            if self._transcript_wanted:     # after the inbox closed: a late hello reads the database
                await self._mail_transcript()
        except Exception:
            # a bug: the customers' sockets close (1013) and resume from this actor's successor
            for s in self._customers:
                s.overflow()
            raise
        finally:
            self._stop_timers()
            # a customer's Session points back at this actor until its socket closes, and its Detach
            # finds the inbox closed: without this the pair is a reference cycle, which keeps the
            # whole conversation (messages, sockets) in memory until a full garbage collection
            self._customers.clear()
            self._monitors.clear()

    async def _store_leftovers(self) -> None:
        """The writes carried by commands still in the inbox after the end (an accepted offer's close,
        which the Router hands to the assignment) are stored all the same."""
        while True:
            try:
                command = self.inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return
            if isinstance(command, Assign | ChangeOwner) and command.also:
                await self._ctx.persister.post(command.also, self.id)
            elif isinstance(command, AttachCustomer):
                if self._retired:       # the client says hello again and wakes a new actor
                    command.session.overflow()
                else:
                    try:
                        await self._attach_customer(command)    # a hello that came as the chat ended: its welcome
                    except DatabaseError:
                        command.session.overflow()      # its client says hello again and reads the ended chat
            elif isinstance(command, ClientFrame) and self._retired:
                # not handled, so never acked: the client sends it again after its next hello
                command.session.overflow()

    async def _serve_inbox(self) -> None:
        """Commands in arrival order; sends that wait back to back are stored in one write."""
        carry: ConversationCommand | None = None
        while self.status != "ended" and not self._retired:
            if carry is not None:
                command, carry = carry, None
            else:
                try:
                    command = await self.inbox.receive()
                except trio.EndOfChannel:
                    return
            self.handling = command
            if self._ctx.faults is not None:
                self._ctx.faults.check("conversation", command)
            if is_send(command):
                assert isinstance(command, ClientFrame)
                sends = [command]
                carry = self._more_sends(sends)
                await self._send_messages(sends)
                continue
            try:
                await self._handle(command)
            except EngineError as exc:
                self._refuse(command, exc)
            except DatabaseError as exc:
                self._unavailable(command, exc)
        self.handling = None

    def _unavailable(self, command: ConversationCommand, exc: DatabaseError) -> None:
        """The database could not store what ``command`` changes, so nothing changed: a client is told
        to try again; the engine's own commands are handled again once the database may be back."""
        if isinstance(command, ClientFrame):
            self._refuse(command, EngineError("unavailable", "the database is unavailable; try again"))
        else:
            log.warning("conversation %s: %s waits for the database (%s)", self.id, type(command).__name__, exc)
            self._ctx.timers.after(DATABASE_RETRY_S, lambda: self.post(command))

    def _more_sends(self, sends: list[ClientFrame]) -> ConversationCommand | None:
        """Append the sends already waiting in the inbox; return the first other command, if any."""
        while len(sends) < MAX_SENDS_PER_WRITE:
            try:
                command = self.inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return None
            if not is_send(command):
                return command
            assert isinstance(command, ClientFrame)
            sends.append(command)
        return None

    def _refuse(self, command: ConversationCommand, exc: EngineError) -> None:
        if isinstance(command, ClientFrame):
            exc.ref = exc.ref if exc.ref is not None else protocol.command_ref(command.command)
            command.session.deliver(encode(exc.to_event()))
        elif isinstance(command, Monitor):
            command.session.deliver(encode(exc.to_event()))
        else:
            log.warning("conversation %s refused %r: %s", self.id, command, exc)

    def _start_max_wait(self, since: datetime) -> None:
        """A chat that waits longer than FRONTDESK_MAX_WAIT_S becomes an offline request."""
        self._stop_max_wait()
        remaining = self._ctx.max_wait_s - (utc_now() - since).total_seconds()
        self._max_wait = self._ctx.timers.after(max(0.0, remaining), lambda: self.post(WaitedTooLong()))

    def _stop_max_wait(self) -> None:
        if self._max_wait is not None:
            self._max_wait.cancel()
            self._max_wait = None

    def _start_grace(self) -> None:
        """No customer socket: after FRONTDESK_CUSTOMER_GRACE_MS the customer has left."""
        self._stop_grace()
        self._grace = self._ctx.timers.after(self._ctx.customer_grace_s, lambda: self.post(CustomerGone()))

    def _stop_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def _stop_timers(self) -> None:
        self._stop_grace()
        self._stop_max_wait()
        self._stop_reminder()

    async def _handle(self, c: ConversationCommand) -> None:
        if isinstance(c, ClientFrame):
            await self._client_frame(c)
        elif isinstance(c, AttachCustomer):
            await self._attach_customer(c)
        elif isinstance(c, Detach):
            self._customers.discard(c.session)
            if not self._customers:
                if self.status in RESTING:
                    self._retired = True    # nobody left to tell anything: rows until someone writes
                else:
                    self._start_grace()
        elif isinstance(c, Assign):
            await self._assign(c)
        elif isinstance(c, Join):
            await self._join(c)
        elif isinstance(c, ChangeOwner):
            await self._change_owner(c)
        elif isinstance(c, AgentGone):
            await self._remove_invited(c.agent_id)
        elif isinstance(c, Requeue):
            await self._requeue(c)
        elif isinstance(c, Position):
            if self.status == "queued" and (c.position, c.estimated_wait_s) != (self._position, self._estimate):
                self._position, self._estimate = c.position, c.estimated_wait_s
                self._to_customers(self._queued_frame())
        elif isinstance(c, WaitedTooLong):
            if self.status == "queued":
                await self._fall_back()
        elif isinstance(c, ReplayToAgent):
            await self._replay_to_agent(c)
        elif isinstance(c, Summarize):
            c.reply.send_nowait(self.summary())
        elif isinstance(c, CustomerGone):
            if self._customers:
                return
            if not self.messaging:
                await self._end(Sender("customer", None, self._customer["name"]), "left")
            elif self.status in RESTING:
                self._retired = True
        elif isinstance(c, RemindOwner):
            self._remind_owner()
        elif isinstance(c, Monitor):
            await self._monitor(c)
        elif isinstance(c, Unmonitor):
            if self._monitors.remove(c.session) is not None and c.logged:
                await self._ctx.persister.post([log_action(c.supervisor.id or "", "unmonitor", self.id)], self.id)

    # ---- views -----------------------------------------------------------------------------

    def _participants_wire(self) -> list[dict[str, Any]]:
        return [{"id": p.agent_id, "name": p.name, "role": p.role, "read_seq": p.read_seq}
                for p in self._participants.values()]

    def summary(self) -> dict[str, Any]:
        """The agent's view in ``welcome.conversations``."""
        return {"conversation_id": self.id, "queue": self.queue, "status": self._wire_status(),
                "customer": self.customer_info, "participants": self._participants_wire(),
                "last_seq": self.last_seq, "customer_read_seq": self._customer_read_seq,
                "unread": self._unread_by_owner()}

    async def _messages_after(self, seq: int, *, public_only: bool = False) -> list[StoredMessage]:
        """The messages with a higher seq than ``seq``, in order: from memory, or from the database
        when they reach back past the tail the history keeps. Raises ``DatabaseError``."""
        kept = self._history.after(seq)
        if kept is None:
            rows = await queries.messages_after(self._ctx.db, self.id, seq, public_only=public_only)
            return [message_from_row(r) for r in rows]
        return [m for m in kept if not m.private] if public_only else kept

    def _queued_frame(self) -> str:
        return encode({"type": "queued", "conversation_id": self.id, "position": self._position,
                       "estimated_wait_s": self._estimate})

    # ---- customers -------------------------------------------------------------------------

    async def _attach_customer(self, c: AttachCustomer) -> None:
        """The customer's welcome and, with ``resume``, every public message after its seq, before any
        live event (the actor handles nothing else meanwhile). Raises ``DatabaseError`` before sending
        anything."""
        replay = [] if c.resume_after is None else await self._messages_after(c.resume_after, public_only=True)
        self._stop_grace()
        if not c.quiet:
            c.session.deliver(encode({"type": "welcome", "role": "customer", "conversation": {
                "conversation_id": self.id, "status": self._wire_status(), "queue": self.queue,
                "participants": self._participants_wire(),
                "last_seq": self._history.last_public_seq, "customer_read_seq": self._customer_read_seq}}))
        for m in replay:
            c.session.deliver(m.frame(m.sender_key == "customer"))
        if self.status == "queued" and self._position is not None:
            c.session.deliver(self._queued_frame())
        self._customers.add(c.session)

    def _to_customers(self, frame: str) -> None:
        for s in self._customers:
            s.deliver(frame)

    def _to_agents(self, frame: str, *, skip: str | None = None) -> None:
        """``frame`` to the agents taking part (but ``skip``) and to the supervisors watching."""
        for agent_id in self._participants:
            if agent_id != skip:
                deliver_to_agent(self._ctx.agents, agent_id, frame, self.id)
        if self._monitors:
            self._monitors.deliver(frame)

    def _to_everyone(self, frame: str) -> None:
        self._to_customers(frame)
        self._to_agents(frame)

    # ---- agents ----------------------------------------------------------------------------

    async def _replay_to_agent(self, c: ReplayToAgent) -> None:
        messages = await self._messages_after(c.after_seq)
        c.reply_to.post_replay(c.session, self.id, [m.frame(m.sender_key == c.agent_id) for m in messages])

    def _conversation_frame(self, agent_id: str, messages: list[StoredMessage]) -> str:
        """The ``conversation`` event for an agent who joins: ``messages`` is the whole history."""
        return encode({"type": "conversation", "conversation_id": self.id, "queue": self.queue,
                       "status": self._wire_status(), "customer": self.customer_info,
                       "participants": self._participants_wire(), "customer_read_seq": self._customer_read_seq,
                       "messages": [orjson.Fragment(m.json(m.sender_key == agent_id)) for m in messages]})

    async def _assign(self, c: Assign) -> None:
        if self.status == "ended":
            if c.also:
                await self._ctx.persister.post(c.also, self.id)
            return
        history = await self._messages_after(0)
        at = utc_now()
        await self._ctx.persister.write([*c.also, *queries.assign_conversation(self.id, c.agent_id, at)], self.id)
        self.status = "active"
        self._position = None
        self._stop_max_wait()
        self._participants[c.agent_id] = Participant(c.agent_id, c.name, "owner")
        self._monitors.drop(c.agent_id)     # a supervisor who took a waiting chat over: a participant now
        deliver_to_agent(self._ctx.agents, c.agent_id, self._conversation_frame(c.agent_id, history), self.id)
        self._to_everyone(encode({"type": "participant_joined", "conversation_id": self.id,
                                  "agent": {"id": c.agent_id, "name": c.name}, "role": "owner"}))

    async def _join(self, c: Join) -> None:
        if self.status != "active":
            return
        history = await self._messages_after(0)
        await self._ctx.persister.write([queries.join_conversation(self.id, c.agent_id, utc_now())], self.id)
        self._participants[c.agent_id] = Participant(c.agent_id, c.name, "invited")
        self._monitors.drop(c.agent_id)     # a supervisor who joined: a participant now
        deliver_to_agent(self._ctx.agents, c.agent_id, self._conversation_frame(c.agent_id, history), self.id)
        self._to_everyone(encode({"type": "participant_joined", "conversation_id": self.id,
                                  "agent": {"id": c.agent_id, "name": c.name}, "role": "invited"}))

    async def _change_owner(self, c: ChangeOwner) -> None:
        """The new owner gets ``conversation`` with the whole history (the previous owner's note
        included), the customer reads one system message naming the new agent, and everyone else
        hears ``participant_joined`` (owner); the previous owner leaves (``participant_joined`` of
        the new owner, then ``participant_left``: a transfer, a reassignment) or stays in as invited (a
        take-over: agents see it joined again with that role, the customer sees no difference)."""
        previous = self._participants.get(c.previous_id)
        if self.status != "active" or previous is None:
            if c.also:      # the decision's record stands even when the chat ended meanwhile
                await self._ctx.persister.post(c.also, self.id)
            return
        history = await self._messages_after(0)
        at = c.at or utc_now()
        added: list[StoredMessage] = []
        statements = [*c.also, *queries.hand_over(self.id, c.previous_id, c.agent_id, at,
                                                  previous_stays=c.previous_stays)]
        if c.note:
            statements.append(self._note(added, Sender("agent", c.previous_id, previous.name), c.note, True, at))
        statements.append(self._note(added, Sender("system", None, "Frontdesk"),
                                     notices.taken_over(c.name, await self._language_of_customer()), False, at))
        await self._ctx.persister.write(statements, self.id)
        for m in added:
            self._history.append(m)
        owner = encode({"type": "participant_joined", "conversation_id": self.id,
                        "agent": {"id": c.agent_id, "name": c.name}, "role": "owner"})
        if c.previous_stays:
            previous.role = "invited"
        else:
            # the previous owner hears who has the chat now before it leaves (its console says to whom)
            deliver_to_agent(self._ctx.agents, c.previous_id, owner, self.id)
            self._to_everyone(encode({"type": "participant_left", "conversation_id": self.id,
                                      "agent": {"id": previous.agent_id, "name": previous.name}, "role": "owner"}))
            del self._participants[c.previous_id]
        if c.tell_previous is not None:
            deliver_to_agent(self._ctx.agents, c.previous_id, c.tell_previous)
        joined = self._participants.get(c.agent_id)
        read_seq = joined.read_seq if joined is not None else 0
        self._participants[c.agent_id] = Participant(c.agent_id, c.name, "owner", read_seq)
        self._monitors.drop(c.agent_id)     # a supervisor who watched: a participant now
        deliver_to_agent(self._ctx.agents, c.agent_id, self._conversation_frame(c.agent_id, history + added), self.id)
        self._to_customers(owner)
        self._to_agents(owner, skip=c.agent_id)
        if c.previous_stays:
            self._to_agents(encode({"type": "participant_joined", "conversation_id": self.id,
                                    "agent": {"id": previous.agent_id, "name": previous.name}, "role": "invited"}),
                            skip=c.agent_id)
        for m in added:
            if not m.private:
                self._to_customers(m.frame(False))
            self._to_agents(m.frame(False), skip=c.agent_id)     # the new owner has them in its history

    def _note(self, added: list[StoredMessage], sender: Sender, text: str, private: bool, at: datetime) -> Statement:
        """A message the engine writes itself (no client_id), numbered after ``added``; returns its statement."""
        wire = {"conversation_id": self.id, "seq": self.last_seq + 1 + len(added), "id": str(uuid.uuid4()),
                "sender": sender.wire(), "text": text, "private": private, "attachments": [], "options": None,
                "option_id": None, "at": iso(at)}
        key = sender.id if sender.kind == "agent" and sender.id else sender.kind
        added.append(StoredMessage.of(wire, key, None))
        return queries.insert_message({**wire, "client_id": None, "_at": at}, key)

    async def _remove_invited(self, agent_id: str) -> None:
        p = self._participants.get(agent_id)
        if p is None or p.role != "invited":
            return
        await self._ctx.persister.write([queries.leave_conversation(self.id, agent_id, utc_now())], self.id)
        self._to_everyone(encode({"type": "participant_left", "conversation_id": self.id,
                                  "agent": {"id": p.agent_id, "name": p.name}, "role": p.role}))
        del self._participants[agent_id]

    async def _requeue(self, c: Requeue) -> None:
        if self.status == "ended":
            return
        await self._ctx.persister.write(queries.requeue_conversation(self.id, c.agent_id, c.queue_key, utc_now()),
                                        self.id)
        p = self._participants.pop(c.agent_id, None)
        self.status = "queued"
        self._position = c.position
        self._start_max_wait(utc_now())
        if p is not None:
            self._to_everyone(encode({"type": "participant_left", "conversation_id": self.id,
                                      "agent": {"id": p.agent_id, "name": p.name}, "role": p.role}))
        self._to_customers(encode({"type": "requeued", "conversation_id": self.id, "position": c.position}))

    # ---- supervisors (PROTOCOL.md §8) -------------------------------------------------------

    async def _monitor(self, c: Monitor) -> None:
        """The watching socket gets the ``conversation`` view (whole history, private messages too),
        then every live event; nobody else is told."""
        if c.supervisor.id in self._participants:
            raise EngineError("invalid_value", "you take part in this conversation already",
                              field="conversation_id")
        history = await self._messages_after(0)
        await self._ctx.persister.post([log_action(c.supervisor.id or "", "monitor", self.id)], self.id)
        self._monitors.add(c.session, c.supervisor)
        c.session.deliver(self._conversation_frame(c.supervisor.id or "", history))

    # ---- client frames ---------------------------------------------------------------------

    async def _client_frame(self, c: ClientFrame) -> None:
        cmd, sender = c.command, c.sender
        self._check_participant(sender)
        if isinstance(cmd, protocol.Read):     # a Send never comes here: _serve_inbox batches them
            await self._read(sender, cmd)
        elif isinstance(cmd, protocol.Typing):
            frame = encode({"type": "typing", "conversation_id": self.id, "sender": sender.wire()})
            if sender.kind == "customer":
                self._to_agents(frame)
            else:
                self._to_customers(frame)
                self._to_agents(frame, skip=sender.id)
        elif isinstance(cmd, protocol.Leave):
            if sender.kind != "agent" or self._participants[sender.id or ""].role != "invited":
                raise EngineError("forbidden", "only an invited agent can leave; the owner ends the chat")
            await self._remove_invited(sender.id or "")
            await self._ctx.router.send(AgentLeft(self.id, sender.id or ""))
        elif isinstance(cmd, protocol.End):
            if sender.kind == "agent" and self._participants[sender.id or ""].role != "owner":
                raise EngineError("forbidden", "only the owning agent or the customer can end a chat")
            if self.messaging:      # a messaging conversation is resolved, never ended (PROTOCOL.md §14)
                if self.status not in RESTING:
                    await self._set_aside("resolved", sender)
                return
            await self._end(sender, "ended")
            if sender.kind == "customer" and cmd.transcript_email:
                self._transcript_wanted = True
        elif isinstance(cmd, protocol.SetStatus):
            if sender.kind != "agent" or self._participants[sender.id or ""].role != "owner":
                raise EngineError("forbidden", "only the owning agent sets a conversation's status", field="status")
            if not self.messaging:
                raise EngineError("invalid_value", "live chats end; only messaging conversations are set aside",
                                  field="status")
            if self.status == "active":
                await self._set_aside(cmd.status, sender)
        else:
            raise EngineError("unknown_type", f"{type(cmd).__name__} is not available in a conversation")

    def _check_participant(self, sender: Sender) -> None:
        if sender.kind == "agent" and sender.id not in self._participants:
            if self._monitors.watching(sender.id):
                raise EngineError("not_participant", "you are watching this conversation: whisper with "
                                  "private: true, or join it", field="conversation_id")
            raise EngineError("not_found", "no such conversation", field="conversation_id")

    def _check_writer(self, c: ClientFrame) -> None:
        """A participant writes; a supervisor watching from this socket only whispers (private)."""
        assert isinstance(c.command, protocol.Send)
        if c.session in self._monitors and c.sender.id not in self._participants:
            if not c.command.private:
                raise EngineError("not_participant", "a watching supervisor only whispers to the agents "
                                  "(private: true); join to write to the customer", field="private")
            return
        self._check_participant(c.sender)

    async def _send_messages(self, sends: list[ClientFrame]) -> None:
        """Store the sends in ONE write (all or none: seqs stay gapless), then ack and fan out each.

        A frame that fails validation gets its error and takes no seq; a retry of a stored
        client_id (or one repeated within the batch) is acked with the stored message.
        """
        started = time.perf_counter()
        batch: list[tuple[ClientFrame, tuple[str, str], StoredMessage]] = []
        fresh: dict[tuple[str, str], StoredMessage] = {}
        statements: list[Statement] = []
        for c in sends:
            try:
                self._check_writer(c)
                assert isinstance(c.command, protocol.Send)
                key = (c.sender.key, c.command.client_id)
                m = self._history.kept(key) or fresh.get(key)
                if m is None and self._history.may_hold_older(key):
                    row = await queries.message_by_client_id(self._ctx.db, self.id, *key)
                    m = message_from_row(row) if row is not None else None
                if m is None:
                    m, stored = await self._new_message(c.sender, c.command, self.last_seq + 1 + len(fresh))
                    fresh[key] = m
                    statements.extend(stored)
            except EngineError as exc:
                self._refuse(c, exc)
                continue
            except DatabaseError:
                self._refuse(c, EngineError("unavailable", "the message could not be stored; "
                                            "retry with the same client_id"))
                continue
            batch.append((c, key, m))
        # a customer writing in a resting conversation reopens it in the same commit as the message:
        # its offer then waits for no second commit, as a new chat's waits for one
        reopen_key = (self._ctx.router.next_queue_key() if statements and self.status in RESTING
                      and any(m.sender_key == "customer" for m in fresh.values()) else None)
        if statements and (self.messaging or reopen_key is not None):
            statements.extend(self._messaging_statements(fresh.values(), reopen_key))
        if statements:
            try:
                await self._ctx.persister.write(statements, self.id)
            except DatabaseError:
                for c, key, m in batch:
                    if key in fresh:
                        self._refuse(c, EngineError("unavailable", "the message could not be stored; "
                                                    "retry with the same client_id", field=None))
                    else:   # a retry of a message stored before: its ack stands
                        c.session.deliver(self._ack(m))
                return
        for m in fresh.values():
            self._history.append(m)
        from_customer = [m for m in fresh.values() if m.sender_key == "customer"]
        if self.messaging and from_customer:
            self._arm_reminder()
        for c, key, m in batch:
            if fresh.pop(key, None) is not None:    # a new message (not a retry): announce it once
                self._fan_out(m, c.sender, (c.session, self._ack(m)))
                metrics.MESSAGES.labels(c.sender.kind).inc()
                metrics.MESSAGE_LATENCY.observe(time.perf_counter() - started)
            else:
                c.session.deliver(self._ack(m))
        if reopen_key is not None:
            await self._reopen(from_customer[-1].text, reopen_key)

    # ---- messaging queues (PROTOCOL.md §7) ----------------------------------------------------

    def _messaging_statements(self, fresh: Any, reopen_key: int | None) -> list[Statement]:
        """What new messages change besides themselves: the newest activity (or, with ``reopen_key``,
        the conversation waiting again at that key), and the customer's notification mail when an
        agent wrote in public. A private note is no activity the customer sees."""
        public = [m for m in fresh if not m.private]
        at = utc_now()
        statements = []
        if reopen_key is not None:
            statements.append(queries.reopen_conversation(self.id, reopen_key, at))
        elif public:
            statements.append(queries.touch_conversation(self.id, at))
        if any(m.sender_key != "customer" for m in public):
            statements.append(queries.arm_notification(self.id, self._ctx.notify_after_s))
        return statements

    async def _set_aside(self, status: str, by: Sender) -> None:
        """Pending or resolved: every agent leaves (the owner's room is free again), the owner is
        remembered for a reopening, and the actor rests once no customer is attached."""
        await self._ctx.persister.write(queries.set_aside(self.id, status, utc_now()), self.id)
        owner = self._owner_id()
        self._last_owner = owner or self._last_owner
        self.status = status
        self._stop_reminder()
        self._to_everyone(encode({"type": "status", "conversation_id": self.id, "status": status, "by": by.kind}))
        self._participants.clear()
        await self._ctx.router.send(ConversationClosed(self.id))
        if not self._customers:
            self._retired = True

    async def _reopen(self, question: str, key: int) -> None:
        """A customer wrote in a resting conversation (stored waiting again at ``key`` with the
        message): it waits again, offered to its last owner first."""
        self.status = "queued"
        self._to_customers(encode({"type": "status", "conversation_id": self.id, "status": "queued",
                                   "by": "customer"}))
        info = {"customer": self.customer_info, "question": question}
        self._position = await self._ctx.router.call(
            lambda reply: Enqueue(self.id, self.queue, info, key, reply, prefer=self._last_owner))
        if self.status == "queued" and self._position:
            self._to_customers(self._queued_frame())

    def _owner_id(self) -> str | None:
        return next((p.agent_id for p in self._participants.values() if p.role == "owner"), None)

    def _unread_by_owner(self) -> int:
        return len(self._unread_of_owner())

    def _unread_of_owner(self) -> list[StoredMessage]:
        """The customer's messages the owner has not read, as far as the history keeps them in memory
        (a count past the tail is a count of the tail: enough to say "unread", never a query)."""
        owner = self._participants.get(self._owner_id() or "")
        if owner is None:
            return []
        newer = self._history.after(owner.read_seq)
        if newer is None:
            newer = self._history.after(self._history.oldest_kept_seq) or []
        return [m for m in newer if m.sender_key == "customer"]

    def _arm_reminder(self) -> None:
        if self._remind is None and self.status == "active":
            self._remind = self._ctx.timers.after(self._ctx.remind_after_s, lambda: self.post(RemindOwner()))

    def _stop_reminder(self) -> None:
        if self._remind is not None:
            self._remind.cancel()
            self._remind = None

    def _remind_owner(self) -> None:
        """The owner has not read a customer's message for ``remind_after_s``: a ``reminder``, and
        another one later while it stays unread."""
        self._remind = None
        owner = self._participants.get(self._owner_id() or "")
        if owner is None or self.status != "active":
            return
        unread = self._unread_of_owner()
        if not unread:
            return
        since = orjson.loads(unread[0].body)["at"]
        deliver_to_agent(self._ctx.agents, owner.agent_id, encode(
            {"type": "reminder", "conversation_id": self.id, "unread": len(unread), "since": since}), self.id)
        self._arm_reminder()

    async def _new_message(self, sender: Sender, cmd: protocol.Send, seq: int) -> tuple[StoredMessage, list[Statement]]:
        """Validate a send and build its message (number ``seq``) and the statements that store it."""
        if sender.kind == "customer":
            if cmd.private:
                raise EngineError("forbidden", "customers cannot send private messages", field="private")
            if cmd.options:
                raise EngineError("forbidden", "customers cannot send option menus", field="options")
        elif cmd.option_id is not None:
            raise EngineError("forbidden", "option_id answers an option menu and is for customers",
                              field="option_id")
        attachments = await self._attachments_of(sender, cmd.attachments) if cmd.attachments else []
        text = cmd.text
        option_id = None
        if cmd.option_id is not None:
            label = self._option_label(cmd.option_id)
            if label is None:
                raise EngineError("invalid_value", "option_id is not an option of the newest menu",
                                  field="option_id")
            text, option_id = label, cmd.option_id
        at = utc_now()
        wire = {"conversation_id": self.id, "seq": seq, "id": str(uuid.uuid4()),
                "sender": sender.wire(), "text": text, "private": cmd.private, "attachments": attachments,
                "options": [{"id": o.id, "label": o.label} for o in cmd.options] if cmd.options else None,
                "option_id": option_id, "at": iso(at)}
        m = StoredMessage.of(wire, sender.key, cmd.client_id)
        statements = [queries.insert_message({**wire, "client_id": cmd.client_id, "_at": at}, sender.key)]
        if attachments:
            statements.append(queries.bind_attachments([a["id"] for a in attachments], self.id, m.id))
        return m, statements

    async def _attachments_of(self, sender: Sender, ids: list[str]) -> list[dict[str, Any]]:
        """The wire form of the attachments of a send: each an unsent upload of this sender."""
        uploader = sender.id if sender.kind == "agent" and sender.id else self.id
        if len(set(ids)) != len(ids):
            raise EngineError("invalid_value", "an attachment is listed twice", field="attachments")
        rows = {str(r["id"]): r for r in await queries.unsent_attachments(self._ctx.db, ids, sender.kind, uploader)}
        if len(rows) != len(ids):
            raise EngineError("not_found", "no such attachment (or it was sent already)", field="attachments")
        return [{"id": i, "filename": rows[i]["filename"], "content_type": rows[i]["content_type"],
                 "size": rows[i]["size"]} for i in ids]

    def _ack(self, m: StoredMessage) -> str:
        return encode({"type": "ack", "client_id": m.client_id, "conversation_id": self.id,
                       "seq": m.seq, "id": m.id})

    def _fan_out(self, m: StoredMessage, sender: Sender, ack: Ack) -> None:
        """``m`` to everyone who may see it; ``ack`` = (the sender's socket, its ack) goes out with the
        sender's own copy in one write (one segment for the client to read, not two)."""
        plain = m.frame(False)
        own = m.frame(True)
        acked = False
        if sender.kind == "customer":
            for s in self._customers:       # a customer's message is never private
                if s is ack[0]:
                    s.deliver_together(ack[1], own)
                    acked = True
                else:
                    s.deliver(own)
        elif not m.private:
            self._to_customers(plain)
        for agent_id in self._participants:
            if agent_id == sender.id:
                deliver_to_agent(self._ctx.agents, agent_id, own, self.id, ack)
                acked = True
            else:
                deliver_to_agent(self._ctx.agents, agent_id, plain, self.id)
        if self._monitors:
            acked = self._monitors.deliver(plain, None if acked else ack, own) or acked
        if not acked:           # the sender's socket is no longer among the recipients: the ack still counts
            ack[0].deliver(ack[1])

    def _option_label(self, option_id: str) -> str | None:
        menu = self._history.menu
        return next((label for id_, label in menu if id_ == option_id), None) if menu else None

    async def _read(self, sender: Sender, cmd: protocol.Read) -> None:
        if cmd.seq > self.last_seq:
            raise EngineError("invalid_value", f"seq {cmd.seq} is after the last message ({self.last_seq})",
                              field="seq")
        if sender.kind == "customer":
            if cmd.seq <= self._customer_read_seq:
                return
            self._customer_read_seq = cmd.seq
        else:
            p = self._participants[sender.id or ""]
            if cmd.seq <= p.read_seq:
                return
            p.read_seq = cmd.seq
        statements = [queries.set_read(self.id, sender.kind, sender.id, cmd.seq)]
        if sender.kind == "customer" and self.messaging:
            statements.append(queries.disarm_notification(self.id, cmd.seq))
        await self._ctx.persister.post(statements, self.id)
        frame = encode({"type": "read", "conversation_id": self.id,
                        "reader": {"kind": sender.kind, "id": sender.id}, "seq": cmd.seq})
        if sender.kind == "customer":
            self._to_agents(frame)
        else:
            self._to_customers(frame)
            self._to_agents(frame, skip=sender.id)

    async def _end(self, by: Sender, reason: str, also: Sequence[Statement] = (),
                   before_ended: str | None = None) -> None:
        """End the conversation (stored with ``also`` in one transaction), tell everyone, free the Router."""
        await self._ctx.persister.write([*also, *queries.end_conversation(self.id, by.kind, reason, utc_now())],
                                        self.id)
        self.status = "ended"
        self._stop_grace()
        self._stop_max_wait()
        if before_ended is not None:
            self._to_customers(before_ended)
        self._to_everyone(encode({"type": "ended", "conversation_id": self.id, "by": by.kind, "reason": reason}))
        await self._ctx.router.send(ConversationClosed(self.id))

    async def _fall_back(self) -> None:
        """Waited too long: the chat becomes an offline request holding its messages (PROTOCOL.md §5.6)."""
        number = await queries.next_request_number(self._ctx.db)
        request_number = queries.format_request_number(number)
        question = "\n\n".join(m.text for m in await self._messages_after(0) if m.sender_key == "customer")
        frame = encode({"type": "fallback", "conversation_id": self.id, "reason": "max_wait",
                        "request_number": request_number})
        await self._end(Sender("system", None, "Frontdesk"), "max_wait", also=[
            queries.insert_offline_request(str(uuid.uuid4()), number, self.queue, self._customer["name"],
                                           self._customer["email"], question, self.id),
            offline_confirmation(self._customer["email"], request_number, self._customer["name"], question,
                                 self._sender_name(), await self._language_of_customer(),
                                 await queries.queue_mail_templates(self._ctx.db, self.queue))],
            before_ended=frame)
        self._ctx.outbox.nudge()

    async def _language_of_customer(self) -> str:
        """The chat's language: its pre-chat form's, else the customer record's (read once), else English."""
        if self._language is None:
            self._language = await queries.conversation_language(self._ctx.db, self.id) or "en"
        return self._language

    def _sender_name(self) -> str | None:
        view = self._ctx.router.queue_view(self.queue)     # read directly: no await, changes nothing
        return view.config.sender_name if view is not None else None

    async def _mail_transcript(self) -> None:
        """The customer asked for the transcript with ``end``; the chat has ended either way."""
        try:
            await self._ctx.outbox.transcript(self.id)
        except DatabaseError as exc:
            log.error("conversation %s: transcript mail not queued: %s", self.id, exc)

