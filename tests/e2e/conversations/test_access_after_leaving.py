"""Access ends when participation ends: an invited agent who left reads what the conversation had
until it left, in the transcript and its files, and nothing that came after."""

from __future__ import annotations

from conftest import Client, Engine, agent
from test_collaboration import bearer, invite_and_join, owned_chat


async def send_file(engine: Engine, a: Client, cid: str, name: str, data: bytes) -> str:
    async with engine.http() as http:
        r = await http.post("/api/uploads", headers=bearer(a.token), files={"file": (name, data, "text/plain")})
        assert r.status_code == 201, r.text
    attachment_id = str(r.json()["attachment_id"])
    await a.send_text(cid, f"see {name}", attachments=[attachment_id])
    return attachment_id


async def test_an_invited_agent_who_left_no_longer_reads_what_came_after(engine: Engine) -> None:
    async with owned_chat(engine) as (a1, _cu, cid), agent(engine, 2) as a2:
        await invite_and_join(a1, a2, cid)
        before = await send_file(engine, a1, cid, "before.txt", b"shared while both were in\n")
        await a2.send({"type": "leave", "conversation_id": cid})
        await a1.expect("participant_left", conversation_id=cid)
        after = await send_file(engine, a1, cid, "after.txt", b"for the owner's eyes\n")
        await a1.send_text(cid, "said after the invitee left", private=True)

        async with engine.http() as http:
            r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(a2.token))
            assert r.status_code == 200
            texts = [m["text"] for m in r.json()["messages"]]
            assert "see before.txt" in texts
            assert "see after.txt" not in texts and "said after the invitee left" not in texts
            assert (await http.get(f"/api/attachments/{before}", headers=bearer(a2.token))).status_code == 200
            assert (await http.get(f"/api/attachments/{after}", headers=bearer(a2.token))).status_code == 404
            # the owner, still in the chat, reads all of it
            r = await http.get(f"/api/conversations/{cid}/transcript", headers=bearer(a1.token))
            assert "said after the invitee left" in [m["text"] for m in r.json()["messages"]]
            assert (await http.get(f"/api/attachments/{after}", headers=bearer(a1.token))).status_code == 200
