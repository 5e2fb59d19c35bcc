"""Session: one websocket — hello and authentication, a reader task and a writer task.

The reader validates each frame through ``protocol.parse_frame`` (errors are answered with
an ``error`` event and the socket stays open), applies the rate limits and passes commands to
the actor that owns their state (Router, Conversation, AgentActor). Every frame after the hello,
pings and pongs included, counts against the socket's limit and its token's (all of the token's
sockets together); a ``send`` also against its conversation's limit for its sender. A frame over a
limit is answered ``error`` ``rate_limited`` (a ``send``'s with its ``client_id`` as ``ref``, so
the client sends it again later) and goes no further.

Actors hand events to ``deliver`` without waiting: when nothing is queued before it and the
socket's buffer takes it, the frame is written at once (a non-blocking write, no task switch);
otherwise it goes into the bounded outbox, and the writer sends every frame waiting there in one
write. When a client reads too slowly and the outbox is full, the socket is closed with 1013 and
the client resumes from its last seq (DESIGN.md: actors never wait on a client).

The socket is a ``websocket.Socket``: normally a ``ServerSocket`` straight from the front
door, or Quart's websocket for an upgrade that came through hypercorn (always queued).

Close codes: 1008 for a missing or bad hello and for a client that stays over its socket's or
its token's rate limit for 10 s (or pings past it before its hello); 1009 for a frame over
64 KiB (``ServerSocket``; hypercorn's websocket_max_message_size on the Quart path); 1013 for an
overflowing outbox (its frames dropped: the client resumes) and, after an ``unavailable`` error,
for a hello that needed the unreachable database (PROTOCOL.md §13).
"""

from __future__ import annotations

import logging
import math
from contextlib import suppress
from datetime import datetime
from typing import Any

import trio

from frontdesk.core import auth
from frontdesk.core.errors import DatabaseError, EngineError, FrontdeskError, ProtocolError, RateLimited
from frontdesk.core.wire import utc_now
from frontdesk.engine.agents.agent import AgentActor
from frontdesk.engine.conversations.conversation import Conversation
from frontdesk.engine.conversations.model import AttachCustomer, ClientFrame, Detach, Sender, message_from_row
from frontdesk.engine.edge import account_view
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.sessions import staff_key, token_key
from frontdesk.engine.edge.supervising import SupervisorDesk
from frontdesk.engine.edge.throttles import RateLimiter
from frontdesk.engine.edge.websocket import CONTROL, PARTLY_SENT, SENT, ControlFrame, Socket, SocketClosed
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.protocol.frames import command_ref, command_type, encode
from frontdesk.engine.routing.commands import (
    AcceptOffer,
    AgentProfile,
    AnswerInvitation,
    AnswerTransfer,
    Invite,
    RejectOffer,
    SetPresence,
    TransferConversation,
)
from frontdesk.engine.runtime import metrics
from frontdesk.engine.runtime.config import HELLO_TIMEOUT_S, RATE_LIMIT_CLOSE_AFTER_S, SESSION_OUTBOX_SIZE
from frontdesk.engine.storage import queries

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
WRITE_BATCH = 64        # frames joined into one socket write at most
CLOSE_TIMEOUT_S = 2.0   # a client that takes longer to read the close frame is cut off
SOCKET_RETRY_AFTER_S = 10   # what a refused socket's client is told to wait


class Session:
    def __init__(self, edge: EdgeContext, ws: Socket, address: str = ""):
        """``address``: the client's, as the throttles key it (one address holds a bounded number of sockets)."""
        self._edge = edge
        self._ws = ws
        self._address = address
        self._claims: list[str] = []      # the socket counts this session holds (its address, its token)
        # the outbox; None asks the writer to finish a frame the socket took only in part
        self._out_send, self._out_recv = trio.open_memory_channel[str | None](SESSION_OUTBOX_SIZE)
        self._queued = 0    # frames in the outbox or in the writer's hands, not yet written
        self._limiter = RateLimiter(edge.config.rate_limit_per_s, edge.config.rate_limit_burst)
        self._token: str | None = None      # the hello's token, as its limits key it
        self._close_code: int | None = None
        self._flush_on_close = True
        self._cancel = trio.CancelScope()
        self.role = "anonymous"
        self._expires_at: datetime | None = None     # when the hello's token expires
        self._sender: Sender | None = None
        self._conversation: Conversation | None = None   # customers: their one conversation
        self._account: str | None = None                  # a signed-in customer: their id
        self._attached: dict[str, Conversation] = {}      # a signed-in customer: conversations attached to
        self._agent: AgentActor | None = None
        self._desk: SupervisorDesk | None = None          # a supervisor's socket: its own frames

    # ---- for actors (never blocks) -----------------------------------------------------------

    def deliver(self, frame: str) -> None:
        self.deliver_together(frame)

    def deliver_together(self, *frames: str) -> None:
        """Write ``frames`` at once, in one socket write, when nothing is queued before them and the
        socket takes them (no task switch, no scheduler round); otherwise queue them for the writer.
        A message's ``ack`` and its echo to the sender go out together this way: one write and one
        segment instead of two."""
        if self._queued == 0 and self._close_code is None:
            done = self._ws.send_now(*frames)
            if done == SENT:
                return
            if done == PARTLY_SENT:
                self._queue(None)
                return
        for frame in frames:
            self._queue(frame)

    def _queue(self, frame: str | None) -> None:
        try:
            self._out_send.send_nowait(frame)
        except trio.WouldBlock:
            self.overflow()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        else:
            self._queued += 1

    def overflow(self) -> None:
        self.close(CLOSE_TRY_AGAIN, flush=False)

    def close(self, code: int, *, flush: bool = True) -> None:
        """Close with ``code`` after the frames waiting in the outbox, or without them (``flush=False``)."""
        if self._close_code is None:
            self._close_code = code
            self._flush_on_close = flush
        self._cancel.cancel()

    # ---- the socket ------------------------------------------------------------------------

    async def run(self) -> None:
        if not self._edge.sessions.add(self):
            self.close(CLOSE_GOING_AWAY)        # the engine is stopping
        elif not self._claim(f"address {self._address}", self._edge.throttles.sockets_per_address):
            self._refuse(RateLimited("too many websockets from this address", SOCKET_RETRY_AFTER_S))
            self.close(CLOSE_POLICY)
        try:
            try:
                with self._cancel:
                    await self._serve()
            finally:
                self._detach()
            if self._close_code is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT_S):
                    try:
                        await self._flush()
                        await self._ws.close(self._close_code)
                    except SocketClosed:
                        pass
        finally:
            self._edge.sessions.discard(self)
            for key in self._claims:
                self._edge.sessions.release(key, self)

    def _claim(self, key: str, limit: int) -> bool:
        if not self._edge.sessions.claim(key, limit, self):
            return False
        self._claims.append(key)
        return True

    def revoke(self) -> None:
        self._unauthenticated("signed out: this token was revoked", None)

    async def _serve(self) -> None:
        """Hello, then the reader and the writer until either ends; a closed socket ends both."""
        try:
            if not await self._hello():
                return
        except SocketClosed:
            return
        metrics.SOCKETS.labels(self.role).inc()
        try:
            with trio.move_on_at(self._token_deadline()) as token_life:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer, nursery.cancel_scope)
                    with suppress(SocketClosed):
                        await self._reader()
                    nursery.cancel_scope.cancel()
            if token_life.cancelled_caught:
                self._unauthenticated("the token expired: sign in again", None)
        finally:
            metrics.SOCKETS.labels(self.role).dec()

    def _token_deadline(self) -> float:
        """When the hello's token expires, on trio's clock: the socket's rights end with it."""
        if self._expires_at is None:
            return math.inf
        return trio.current_time() + max(0.0, (self._expires_at - utc_now()).total_seconds())

    async def _flush(self) -> None:
        """Send what is still in the outbox (e.g. the error before a 1008 close)."""
        if self._flush_on_close:
            while frames := self._waiting([]):
                await self._write(frames)

    def _waiting(self, frames: list[str | None]) -> list[str | None]:
        """``frames`` plus what waits in the outbox, up to WRITE_BATCH."""
        while len(frames) < WRITE_BATCH:
            try:
                frames.append(self._out_recv.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        return frames

    async def _write(self, frames: list[str | None]) -> None:
        await self._ws.send_frames([f for f in frames if f is not None])
        self._queued -= len(frames)

    async def _writer(self, session: trio.CancelScope) -> None:
        with suppress(SocketClosed):
            async for frame in self._out_recv:
                await self._write(self._waiting([frame]))
        session.cancel()

    def _refuse(self, exc: FrontdeskError) -> None:
        metrics.FRAME_ERRORS.labels(exc.code).inc()
        self.deliver(encode(exc.to_event()))

    async def _hello(self) -> bool:
        """Authenticate the first frame; False (and a 1008 close) when it is not a good hello."""
        raw: str | bytes | ControlFrame = CONTROL
        with trio.move_on_after(HELLO_TIMEOUT_S):
            raw = await self._ws.receive()
            while isinstance(raw, ControlFrame):     # pings before the hello count against the socket's limit
                if not self._limiter.allow(trio.current_time()):
                    self._refuse(ProtocolError("rate_limited", "too many pings before hello"))
                    self.close(CLOSE_POLICY)
                    return False
                raw = await self._ws.receive()
        if isinstance(raw, ControlFrame):
            return self._unauthenticated("no hello within 10 s", None)
        try:
            cmd = protocol.parse_frame(raw)
        except ProtocolError as exc:
            return self._unauthenticated(f"the first frame must be hello ({exc.message})", exc.ref)
        if not isinstance(cmd, protocol.Hello):
            return self._unauthenticated("the first frame must be hello", None)
        try:
            subject = await self._edge.tokens.resolve(auth.token_hash(cmd.token))
            if subject is None:
                return self._unauthenticated("bad or expired token", None)
            self._expires_at = subject["expires_at"]
            self._token = token_key(subject["token_hash"])
            if not self._claim(self._token, self._edge.throttles.sockets_per_token):
                self._refuse(RateLimited("too many websockets with this token", SOCKET_RETRY_AFTER_S))
                self.close(CLOSE_POLICY)
                return False
            resume = dict(cmd.resume or {})
            if subject["kind"] in ("customer", "link"):     # a link token has a customer token's rights
                return await self._hello_customer(str(subject["subject_id"]), resume)
            if subject["kind"] == "account":
                return await self._hello_account(str(subject["subject_id"]), resume)
            if subject["kind"] == "supervisor":
                return await self._hello_supervisor(str(subject["subject_id"]), resume, subject)
            return await self._hello_agent(str(subject["subject_id"]), resume, subject)
        except DatabaseError:
            return self._unavailable()

    def _unauthenticated(self, message: str, ref: str | None) -> bool:
        self._refuse(ProtocolError("unauthenticated", message, ref=ref))
        self.close(CLOSE_POLICY)
        return False

    def _unavailable(self) -> bool:
        """The hello needed the database, which is unreachable: the client says hello again later."""
        self._refuse(FrontdeskError("unavailable", "the database is unavailable; try again later"))
        self.close(CLOSE_TRY_AGAIN)
        return False

    async def _hello_customer(self, conversation_id: str, resume: dict[str, int]) -> bool:
        self.role = "customer"
        conv = await self._edge.conversations.wake(conversation_id)
        if conv is None:
            return await self._welcome_ended(conversation_id, resume)
        self._conversation = conv
        self._sender = Sender("customer", None, conv.customer_info["name"])
        after = resume.get(conversation_id)
        if not await conv.send(AttachCustomer(self, after)):
            return await self._welcome_ended(conversation_id, resume)
        return True

    async def _welcome_ended(self, conversation_id: str, resume: dict[str, int]) -> bool:
        """A customer of a conversation that has ended: its view and history, from the database.
        The socket stays a customer's: its frames for the conversation are ``not_found``."""
        row = await queries.conversation(self._edge.db, conversation_id)
        if row is None:
            return self._unauthenticated("unknown conversation", None)
        self._sender = Sender("customer", None, row["customer_name"])
        public = [message_from_row(r) for r in await queries.messages_of(self._edge.db, [conversation_id])
                  if not r["private"]]
        self.deliver(encode({"type": "welcome", "role": "customer", "conversation": {
            "conversation_id": conversation_id, "status": row["status"], "queue": row["queue"],
            "participants": [], "last_seq": public[-1].seq if public else 0}}))
        after = resume.get(conversation_id)
        if after is not None:
            for m in public:
                if m.seq > after:
                    self.deliver(m.frame(False))
        return True

    async def _hello_account(self, customer_id: str, resume: dict[str, int]) -> bool:
        """A signed-in customer (PROTOCOL.md §6): one welcome listing every conversation; the running
        ones are attached now, a resting one when the customer writes in it."""
        customer = await queries.account_customer(self._edge.db, customer_id)
        if customer is None:
            return self._unauthenticated("bad or expired token", None)
        rows = await queries.account_conversations(self._edge.db, customer_id)
        self.role = "customer"
        self._account = customer_id
        self._sender = Sender("customer", None, customer["name"])
        self.deliver(encode({"type": "welcome", "role": "customer", "customer": account_view.customer_wire(customer),
                             "conversations": [account_view.conversation_wire(r) for r in rows]}))
        for r in rows:
            cid = str(r["id"])
            conv = self._edge.conversations.get(cid)
            if conv is not None:
                await self._attach_quietly(conv, resume.get(cid))
            elif cid in resume:     # resting: its history from the database
                await self._replay_stored(cid, resume[cid])
        return True

    async def _attach_quietly(self, conv: Conversation, after: int | None) -> bool:
        if await conv.send(AttachCustomer(self, after, quiet=True)):
            self._attached[conv.id] = conv
            return True
        return False

    async def _replay_stored(self, conversation_id: str, after: int) -> None:
        for r in await queries.messages_of(self._edge.db, [conversation_id]):
            if not r["private"] and r["seq"] > after:
                self.deliver(message_from_row(r).frame(r["sender_key"] == "customer"))

    async def _account_conversation(self, conversation_id: str, cmd: protocol.Command) -> Conversation:
        """The signed-in customer's conversation ``conversation_id``, attached to this socket (woken
        from its rows when it rests); not_found for any other."""
        attached = self._attached.get(conversation_id)
        if attached is not None:
            return attached
        row = await queries.conversation(self._edge.db, conversation_id)
        if row is None or str(row["customer_id"]) != self._account:
            raise EngineError("not_found", "no such conversation", field="conversation_id", ref=command_ref(cmd))
        conv = await self._edge.conversations.wake(conversation_id)
        if conv is None or not await self._attach_quietly(conv, None):
            raise EngineError("not_found", "no such conversation", field="conversation_id", ref=command_ref(cmd))
        return conv

    async def _hello_agent(self, agent_id: str, resume: dict[str, int], profile_row: Any) -> bool:
        """``profile_row``: the staff columns of ``queries.hello_subjects`` (role None: no such staff)."""
        if profile_row["role"] != "agent":
            return self._unauthenticated("bad or expired token", None)
        self.role = "agent"
        profile = AgentProfile(agent_id, profile_row["name"], frozenset(profile_row["queues"]),
                               profile_row["capacity"], profile_row["email"])
        self._sender = Sender("agent", agent_id, profile.name)
        self._claim(staff_key(agent_id), 0)     # found and closed at once when the agent is disabled
        self._agent = await self._edge.agents.attach(profile, profile_row["presence"], self, resume)
        return True

    async def _hello_supervisor(self, supervisor_id: str, resume: dict[str, int], profile_row: Any) -> bool:
        """A supervisor (PROTOCOL.md §8): staff in the Router without queues, so never offered work;
        its welcome shows the floor, and its socket may send the supervisors' frames."""
        if profile_row["role"] != "supervisor":
            return self._unauthenticated("bad or expired token", None)
        self.role = "supervisor"
        profile = AgentProfile(supervisor_id, profile_row["name"], frozenset(), profile_row["capacity"],
                               profile_row["email"], role="supervisor")
        self._sender = Sender("agent", supervisor_id, profile.name)
        self._claim(staff_key(supervisor_id), 0)    # found and closed at once when the supervisor is disabled
        self._desk = SupervisorDesk(self._edge, self, self._sender)
        self._agent = await self._edge.agents.attach(profile, "available", self, resume)
        return True

    def _detach(self) -> None:
        if self._desk is not None:
            self._desk.detach()
        if self._conversation is not None:
            self._conversation.post(Detach(self))
        for conv in self._attached.values():
            conv.post(Detach(self))
        if self._agent is not None:
            self._agent.detach(self)

    # ---- frames after hello ----------------------------------------------------------------

    async def _reader(self) -> None:
        while True:
            raw = await self._ws.receive()
            now = trio.current_time()
            refusal = self._over_limit(now)
            if refusal is not None:
                if self._limiter.over_for(now) >= RATE_LIMIT_CLOSE_AFTER_S:
                    self._refuse(ProtocolError("rate_limited", "over the rate limit for 10 s: closing"))
                    self.close(CLOSE_POLICY)
                    return
                self._refuse(ProtocolError("rate_limited", refusal))
                continue
            if isinstance(raw, ControlFrame):
                continue
            try:
                cmd = protocol.parse_frame(raw)
                await self._dispatch(cmd)
            except (ProtocolError, EngineError, RateLimited) as exc:
                self._refuse(exc)

    def _over_limit(self, now: float) -> str | None:
        """None when one more frame is within this socket's limit and its token's; else why not."""
        if not self._limiter.allow(now):
            return "too many frames on this socket; slow down"
        if self._token is not None and not self._edge.throttles.frame_of(self._token):
            self._limiter.refused(now)
            return "too many frames with this token on all its sockets; slow down"
        return None

    async def _dispatch(self, cmd: protocol.Command) -> None:
        if isinstance(cmd, protocol.Ping):
            self.deliver('{"type":"pong"}')
            return
        if isinstance(cmd, protocol.Hello):
            raise ProtocolError("invalid_value", "already authenticated", field="type")
        assert self._sender is not None
        if self._desk is not None:
            if not await self._desk.dispatch(cmd):
                await self._dispatch_agent(cmd, self._sender)
        elif self.role == "agent":
            if isinstance(cmd, protocol.SUPERVISOR_FRAMES):     # rights are the engine's, never a client's
                raise EngineError("forbidden", f"{command_type(cmd)} is for supervisors", field="type",
                                  ref=command_ref(cmd))
            await self._dispatch_agent(cmd, self._sender)
        else:
            await self._dispatch_customer(cmd, self._sender)

    async def _dispatch_agent(self, cmd: protocol.Command, sender: Sender) -> None:
        router = self._edge.router
        agent_id = sender.id or ""
        if isinstance(cmd, protocol.Presence):
            await router.send(SetPresence(agent_id, cmd.state, self))
        elif isinstance(cmd, protocol.Accept):
            await router.send(AcceptOffer(agent_id, cmd.offer_id, self))
        elif isinstance(cmd, protocol.Reject):
            await router.send(RejectOffer(agent_id, cmd.offer_id, cmd.reason, self))
        elif isinstance(cmd, protocol.Invite):
            await router.send(Invite(cmd.conversation_id, agent_id, cmd.agent_id, cmd.queue, self))
        elif isinstance(cmd, protocol.AcceptInvitation | protocol.DeclineInvitation):
            await router.send(AnswerInvitation(agent_id, cmd.invitation_id,
                                               isinstance(cmd, protocol.AcceptInvitation), self))
        elif isinstance(cmd, protocol.Transfer):
            note = cmd.note if cmd.note is not None and cmd.note.strip() else None
            await router.send(TransferConversation(cmd.conversation_id, agent_id, cmd.agent_id, cmd.queue, note, self))
        elif isinstance(cmd, protocol.AcceptTransfer | protocol.DeclineTransfer):
            await router.send(AnswerTransfer(agent_id, cmd.transfer_id, isinstance(cmd, protocol.AcceptTransfer), self))
        elif isinstance(cmd, protocol.Send | protocol.Read | protocol.Typing | protocol.End | protocol.Leave
                        | protocol.SetStatus):
            conversation_id = cmd.conversation_id
            if conversation_id is None:
                raise EngineError("missing_field", "agents name the conversation", field="conversation_id",
                                  ref=command_ref(cmd))
            await self._to_conversation(conversation_id, cmd, sender)
        else:
            raise EngineError("unknown_type", f"{command_type(cmd)} is not available yet", field="type",
                              ref=command_ref(cmd))

    async def _dispatch_customer(self, cmd: protocol.Command, sender: Sender) -> None:
        if self._account is not None and isinstance(cmd, protocol.Send | protocol.Read | protocol.Typing
                                                    | protocol.End):
            if cmd.conversation_id is None:
                raise EngineError("missing_field", "a signed-in customer names the conversation",
                                  field="conversation_id", ref=command_ref(cmd))
            conv = await self._account_conversation(cmd.conversation_id, cmd)
            self._count_message(conv.id, cmd, sender)
            if not await conv.send(ClientFrame(self, sender, cmd)):
                raise EngineError("not_found", "no such conversation", field="conversation_id", ref=command_ref(cmd))
        elif isinstance(cmd, protocol.Send | protocol.Read | protocol.Typing | protocol.End):
            own = self._conversation.id if self._conversation is not None else None
            conversation_id = cmd.conversation_id or own
            if conversation_id is None or conversation_id != own:
                raise EngineError("not_found", "no such conversation", field="conversation_id", ref=command_ref(cmd))
            await self._to_conversation(conversation_id, cmd, sender)
        else:
            staff = "supervisors" if isinstance(cmd, protocol.SUPERVISOR_FRAMES) else "agents"
            raise EngineError("forbidden", f"{command_type(cmd)} is for {staff}", field="type", ref=command_ref(cmd))

    async def _to_conversation(self, conversation_id: str, cmd: protocol.Command, sender: Sender) -> None:
        conv = self._edge.conversations.get(conversation_id)
        if conv is not None:
            self._count_message(conversation_id, cmd, sender)
        if conv is None or not await conv.send(ClientFrame(self, sender, cmd)):
            raise EngineError("not_found", "no such conversation", field="conversation_id", ref=command_ref(cmd))

    def _count_message(self, conversation_id: str, cmd: protocol.Command, sender: Sender) -> None:
        """A ``send`` counts against its conversation's limit for its sender (``rate_limited`` past it)."""
        if isinstance(cmd, protocol.Send):
            self._edge.throttles.message_to(conversation_id, sender.id or sender.kind, command_ref(cmd))

