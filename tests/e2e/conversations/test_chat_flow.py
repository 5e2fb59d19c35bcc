"""End to end: a chat from the pre-chat form to its end, over real HTTP and websockets."""

from __future__ import annotations

from conftest import Engine, accept_next, agent, connect


async def test_chat_is_offered_accepted_and_messages_flow_both_ways(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat(question="Where is my order?")
        assert chat["status"] == "queued" and chat["position"] == 1
        cid = chat["conversation_id"]
        offer = await a1.expect("offer", conversation_id=cid)
        assert offer["queue"] == "support" and offer["question"] == "Where is my order?"
        assert offer["customer"] == {"name": "Cora Customer", "email": "cora@example.com", "verified": []}
        async with connect(engine, chat["customer_token"], "customer") as cu:
            assert cu.info["conversation"]["status"] == "queued"
            await a1.send({"type": "accept", "offer_id": offer["offer_id"]})
            conv = await a1.expect("conversation", conversation_id=cid)
            assert conv["messages"][0]["seq"] == 1 and conv["messages"][0]["text"] == "Where is my order?"
            joined = await cu.expect("participant_joined", conversation_id=cid)
            assert joined["agent"]["name"] == "Agent One" and joined["role"] == "owner"
            ack = await cu.send_text(None, "Hello")
            assert ack["seq"] == 2
            msg = await a1.expect("message", seq=2)
            assert msg["text"] == "Hello" and msg["sender"]["kind"] == "customer" and "client_id" not in msg
            ack2 = await a1.send_text(cid, "Hi, how can I help?")
            reply = await cu.expect("message", seq=ack2["seq"])
            assert reply["sender"] == {"kind": "agent", "id": a1.info["id"], "name": "Agent One"}
            await cu.send({"type": "end"})
            ended = await a1.expect("ended", conversation_id=cid)
            assert ended["by"] == "customer"


async def test_private_note_reaches_agents_only(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            note = await a1.send_text(cid, "customer sounds upset", private=True)
            public = await a1.send_text(cid, "We are on it")
            got = await cu.expect("message", seq=public["seq"])
            assert got["text"] == "We are on it"
            assert all(f.get("seq") != note["seq"] for f in cu.seen if f["type"] == "message")
            async with engine.http() as http:
                r = await http.get(f"/api/conversations/{cid}/transcript",
                                   headers={"Authorization": f"Bearer {chat['customer_token']}"})
                assert r.status_code == 200
                assert [m["text"] for m in r.json()["messages"]] == ["Where is my order?", "We are on it"]
                r = await http.get(f"/api/conversations/{cid}/transcript",
                                   headers={"Authorization": f"Bearer {a1.token}"})
                assert [m["private"] for m in r.json()["messages"]] == [False, True, False]


async def test_the_sender_gets_its_ack_then_its_own_copy_and_its_other_sockets_the_copy_only(engine: Engine) -> None:
    async with agent(engine, 1) as a1, connect(engine, a1.token, "agent1 second tab") as a1_tab:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu, \
                connect(engine, chat["customer_token"], "customer second tab") as cu_tab:
            await accept_next(a1, cid)
            for sender, other_tab, reader, text in ((cu, cu_tab, a1, "from the customer"),
                                                     (a1, a1_tab, cu, "from the agent")):
                client_id = f"own-{sender.name}"
                frame: dict[str, str] = {"type": "send", "client_id": client_id, "text": text}
                if sender is a1:
                    frame["conversation_id"] = cid
                await sender.send(frame)
                ack = await sender.expect("ack", client_id=client_id)
                own = await sender.expect("message", seq=ack["seq"])
                assert sender.seen.index(own) == sender.seen.index(ack) + 1      # the ack first, then the copy
                assert own["client_id"] == client_id and own["text"] == text
                copy = await other_tab.expect("message", seq=ack["seq"])
                assert copy["client_id"] == client_id                           # the sender's, on every tab
                seen = await reader.expect("message", seq=ack["seq"])
                assert "client_id" not in seen and seen["text"] == text
                assert not [f for f in await other_tab.drain(0.2) if f["type"] == "ack"]
