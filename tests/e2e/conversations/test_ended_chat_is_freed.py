"""An ended conversation leaves the engine's memory when its last customer socket closes, by
reference counting alone: nothing in a reference cycle keeps it (and its messages and sockets) for
the garbage collector, which runs rarely in a serving engine (``supervisor/run.py``'s thresholds)."""

from __future__ import annotations

import gc

import trio
from conftest import Engine, accept_next, agent, connect

from frontdesk.engine.conversations.conversation import Conversation
from frontdesk.engine.edge.session import Session


def _alive(conversation_id: str) -> list[object]:
    """The engine's objects of this conversation that the collector still tracks (freed ones are gone)."""
    return [o for o in gc.get_objects()
            if (isinstance(o, Conversation) and o.id == conversation_id)
            or (isinstance(o, Session) and o.role == "customer")]


async def test_an_ended_chat_is_freed_once_its_customer_socket_closes_without_a_collection(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        gc.collect()
        gc.disable()
        try:
            chat = await engine.start_chat()
            cid = chat["conversation_id"]
            async with connect(engine, chat["customer_token"], "customer") as cu:
                await accept_next(a1, cid)
                await cu.send_text(None, "Hello")
                await a1.send_text(cid, "Hi")
                await cu.send({"type": "end"})
                await cu.expect("ended")
                await a1.expect("ended", conversation_id=cid)
            with trio.move_on_after(5):
                while _alive(cid):  # noqa: ASYNC110   # freed when the engine's tasks for it return
                    await trio.sleep(0.02)
            assert not _alive(cid)
        finally:
            gc.enable()
