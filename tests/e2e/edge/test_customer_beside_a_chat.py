"""``GET /api/conversations/{id}/customer``: what an agent sees beside a chat — the customer's
record, the pre-chat extra fields and their other conversations — for its participants and
supervisors only."""

from __future__ import annotations

from typing import Any

from conftest import Engine, accept_next, agent


async def beside(engine: Engine, conversation_id: str, token: str) -> tuple[int, dict[str, Any]]:
    async with engine.http() as http:
        r = await http.get(f"/api/conversations/{conversation_id}/customer",
                           headers={"Authorization": f"Bearer {token}"})
        return r.status_code, r.json()


async def test_the_agent_of_a_chat_sees_the_customer_their_fields_and_earlier_conversations(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        earlier = await engine.start_chat(email="bo@example.com", name="Bo Berg", question="An old question")
        await accept_next(a1, earlier["conversation_id"])
        await a1.send_text(earlier["conversation_id"], "NOTE: VIP", private=True)
        now = await engine.start_chat(email="BO@example.com", name="Bo Berg", question="A new question",
                                      fields={"order": "A-1042"})
        await accept_next(a1, now["conversation_id"])
        status, body = await beside(engine, now["conversation_id"], a1.token)
        assert status == 200
        assert body["customer"]["email"] == "bo@example.com" and body["fields"] == {"order": "A-1042"}
        assert [c["conversation_id"] for c in body["conversations"]] == [earlier["conversation_id"]]
        assert body["conversations"][0]["last_message"]["text"] == "An old question"    # never the note
        other = (await engine.login("agent2@demo.test"))["token"]
        status, body = await beside(engine, now["conversation_id"], other)
        assert status == 404 and body["error"]["code"] == "not_found"
        supervisor = (await engine.login("supervisor@demo.test", "supervisors"))["token"]
        status, _ = await beside(engine, now["conversation_id"], supervisor)
        assert status == 200
