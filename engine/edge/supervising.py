"""A supervisor's socket (PROTOCOL.md §8): the frames only a supervisor may send.

The Session checks the role of every frame: an agent's or a customer's socket never comes here
(``forbidden``), whatever its client shows. ``monitor`` and ``unmonitor`` go to the Conversation
(watching decides nothing about ownership); ``join``, ``take_over``, ``reassign`` and
``set_agent_presence`` go to the Router, the one place that decides who owns what. Everything
else a supervisor sends (``send``, ``read``, ``typing``, ``leave``, ``end``, ``invite``,
``transfer``) is an agent's frame, handled as for agents.

Resource handling: the conversations this socket watches are told when it closes (``detach``).
"""

from __future__ import annotations

from frontdesk.core.errors import EngineError
from frontdesk.engine.conversations.conversation import Conversation
from frontdesk.engine.conversations.model import Monitor, Sender, Unmonitor
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.protocol import frames as protocol
from frontdesk.engine.protocol.frames import command_type
from frontdesk.engine.routing.commands import Reassign, SetAgentPresence, SuperviseJoin, TakeOver
from frontdesk.engine.runtime.outlet import Outlet

# what a supervisor receives no offers or invitations for, and has no presence of its own
NOT_FOR_SUPERVISORS = (protocol.Presence, protocol.Accept, protocol.Reject, protocol.AcceptInvitation,
                       protocol.DeclineInvitation, protocol.AcceptTransfer, protocol.DeclineTransfer)


class SupervisorDesk:
    def __init__(self, edge: EdgeContext, session: Outlet, supervisor: Sender):
        self._edge = edge
        self._session = session
        self._supervisor = supervisor
        self._watching: dict[str, Conversation] = {}

    async def dispatch(self, cmd: protocol.Command) -> bool:
        """Handle a supervisor's own frame; False for any other (an agent's frame)."""
        router = self._edge.router
        supervisor_id = self._supervisor.id or ""
        if isinstance(cmd, protocol.Monitor):
            conv = self._edge.conversations.get(cmd.conversation_id)
            if conv is None or not await conv.send(Monitor(self._session, self._supervisor)):
                raise EngineError("not_found", "no such conversation", field="conversation_id")
            self._watching[cmd.conversation_id] = conv
        elif isinstance(cmd, protocol.Unmonitor):
            conv = self._watching.pop(cmd.conversation_id, None)
            if conv is None:
                raise EngineError("not_found", "you are not watching that conversation", field="conversation_id")
            conv.post(Unmonitor(self._session, self._supervisor))
        elif isinstance(cmd, protocol.Join):
            await router.send(SuperviseJoin(cmd.conversation_id, supervisor_id, self._session))
        elif isinstance(cmd, protocol.TakeOver):
            await router.send(TakeOver(cmd.conversation_id, supervisor_id, self._session))
        elif isinstance(cmd, protocol.Reassign):
            await router.send(Reassign(cmd.conversation_id, cmd.agent_id, supervisor_id, self._session))
        elif isinstance(cmd, protocol.SetAgentPresence):
            await router.send(SetAgentPresence(cmd.agent_id, cmd.state, supervisor_id, self._session))
        elif isinstance(cmd, NOT_FOR_SUPERVISORS):
            raise EngineError("forbidden", f"{command_type(cmd)} is for agents", field="type")
        else:
            return False
        return True

    def detach(self) -> None:
        """The socket closed: it watches nothing any more (not logged: nobody asked)."""
        for conv in self._watching.values():
            conv.post(Unmonitor(self._session, self._supervisor, logged=False))
        self._watching.clear()
