"""The signed-in agents' actors: found by id, started by an agent's first socket.

An agent has at most one AgentActor. A socket's hello attaches to it, starting it when there is
none; an actor that is stopping (its reconnect grace ran out) refuses the attach, and the next
try starts a fresh one. At start-up the agents who own conversations get an actor without a
socket, whose grace then runs (PROTOCOL.md §5.10).

A crashed actor (``runtime/supervision.py``) closes its sockets; its successor starts as at
start-up, in its reconnect grace, and the agent's consoles come back to it. One that keeps
crashing is parked: the Router hears the agent is offline (offers revoked, chats requeued).
"""

from __future__ import annotations

from frontdesk.engine.agents.agent import AgentActor, AgentContext
from frontdesk.engine.routing.commands import AgentOffline, AgentProfile
from frontdesk.engine.runtime.outlet import Outlet
from frontdesk.engine.runtime.registry import ActorMap


class AgentRoster:
    def __init__(self, actors: ActorMap[AgentActor], context: AgentContext):
        self._actors = actors
        self._ctx = context

    def get(self, agent_id: str) -> AgentActor | None:
        return self._actors.get(agent_id)

    async def attach(self, profile: AgentProfile, chosen_presence: str, session: Outlet,
                     resume: dict[str, int]) -> AgentActor:
        """Attach ``session`` to the agent's actor (after its ``welcome``); returns that actor."""
        while True:
            actor = await self._actor(profile, chosen_presence)
            if await actor.attach(session, resume):
                return actor

    async def restore(self, profile: AgentProfile, chosen_presence: str) -> None:
        """An agent who owns conversations but has no socket yet: its reconnect grace starts now."""
        await self._actor(profile, chosen_presence)

    async def _actor(self, profile: AgentProfile, chosen_presence: str) -> AgentActor:
        actor = self._actors.get(profile.agent_id)
        if actor is None:
            actor = AgentActor(self._ctx, profile, chosen_presence)
            await self._actors.start(profile.agent_id, actor, self._restart, self._park)
        return actor

    async def _restart(self, agent_id: str, crashed: AgentActor) -> AgentActor | None:
        if self._actors.get(agent_id) is not None:
            return None     # a socket came back meanwhile and started a new actor
        return AgentActor(self._ctx, crashed.profile, crashed.chosen_presence)

    async def _park(self, agent_id: str, crashed: AgentActor) -> None:
        await self._ctx.router.send(AgentOffline(agent_id))
