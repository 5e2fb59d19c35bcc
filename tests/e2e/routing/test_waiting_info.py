"""Waiting information: ``queued`` events carry the position (1 = next), updated as chats ahead
are taken, and ``estimated_wait_s`` from the queue's recent measured waits (null until there
are enough). The estimator itself is tested table-driven without a server
(tests/unit/engine/routing/test_waiting.py).
"""

from __future__ import annotations

from typing import Any

from conftest import Client, Engine, accept_next, agent, connect


async def next_queued(c: Client, conversation_id: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
    """The next ``queued`` event of ``conversation_id`` with the given fields."""
    return await c.expect("queued", timeout=timeout, conversation_id=conversation_id, **match)


async def test_queued_customer_gets_its_position_and_no_estimate_before_any_data(engine: Engine) -> None:
    async with agent(engine, 1, presence="away"):
        first = await engine.start_chat(email="first@example.com")
        second = await engine.start_chat(email="second@example.com")
        assert (first["position"], second["position"]) == (1, 2)
        async with connect(engine, first["customer_token"], "first") as c1, \
                connect(engine, second["customer_token"], "second") as c2:
            q1 = await next_queued(c1, first["conversation_id"])
            q2 = await next_queued(c2, second["conversation_id"])
            assert set(q1) == {"type", "conversation_id", "position", "estimated_wait_s"}
            assert (q1["position"], q1["estimated_wait_s"]) == (1, None)
            assert (q2["position"], q2["estimated_wait_s"]) == (2, None)
            # nothing changes while nobody is served: no repeated queued events
            assert [f for f in await c2.drain(1.2) if f["type"] == "queued"] == []


async def test_positions_move_up_as_chats_ahead_are_accepted(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1:
        chats = [await engine.start_chat(email=f"c{n}@example.com") for n in range(3)]
        last = chats[2]["conversation_id"]
        async with connect(engine, chats[2]["customer_token"], "last") as cu:
            await next_queued(cu, last, position=3)
            await a1.send({"type": "presence", "state": "available"})
            await accept_next(a1, chats[0]["conversation_id"])
            await next_queued(cu, last, position=2)
            await accept_next(a1, chats[1]["conversation_id"])
            await next_queued(cu, last, position=1)
            await accept_next(a1, last)
            await cu.expect("participant_joined", conversation_id=last)
            positions = [f["position"] for f in cu.seen if f["type"] == "queued"]
            assert positions == [3, 2, 1]  # each change once, in order, never backwards


async def test_estimate_is_a_number_after_three_chats_were_accepted(engine: Engine) -> None:
    async with agent(engine, 1, presence="away") as a1:
        served = [await engine.start_chat(email=f"served{n}@example.com") for n in range(3)]
        # the three wait (measurably) until agent1 becomes available; then it takes all three (its capacity)
        async with connect(engine, served[2]["customer_token"], "served") as cu:
            await next_queued(cu, served[2]["conversation_id"], position=3, estimated_wait_s=None)
        await a1.send({"type": "presence", "state": "available"})
        for chat in served:
            await accept_next(a1, chat["conversation_id"])

        # agent1 is full: these two wait, now with an estimate
        ahead = await engine.start_chat(email="ahead@example.com")
        behind = await engine.start_chat(email="behind@example.com")
        async with connect(engine, ahead["customer_token"], "ahead") as c1, \
                connect(engine, behind["customer_token"], "behind") as c2:
            q1 = await next_queued(c1, ahead["conversation_id"], position=1)
            q2 = await next_queued(c2, behind["conversation_id"], position=2)
        # there is data now: no null estimate any more, not even in the first queued event
        e1, e2 = q1["estimated_wait_s"], q2["estimated_wait_s"]
        assert isinstance(e1, int) and isinstance(e2, int), (q1, q2)
        assert 0 <= e1 <= e2 < 60

