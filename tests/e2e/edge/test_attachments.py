"""Attachments end to end (PROTOCOL.md §3 uploads and downloads, §4 ``send.attachments``).

Uploads are multipart with a part named ``file``; the type comes from the bytes, the name is
sanitised, only the uploader may send an upload and only once, and downloads go to those who may
see the message (participants, supervisors; customers only for public messages).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import trio
from conftest import Client, Engine, Postgres, accept_next, agent, connect

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MIB = 1024 * 1024


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(engine: Engine, token: str, filename: str, data: bytes,
                 content_type: str = "application/octet-stream") -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/uploads", headers=bearer(token),
                               files={"file": (filename, data, content_type)})


async def uploaded(engine: Engine, token: str, filename: str, data: bytes) -> str:
    r = await upload(engine, token, filename, data)
    assert r.status_code == 201, r.text
    return str(r.json()["attachment_id"])


async def download(engine: Engine, token: str, attachment_id: str) -> httpx.Response:
    async with engine.http() as http:
        return await http.get(f"/api/attachments/{attachment_id}", headers=bearer(token))


async def send_frame(c: Client, conversation_id: str | None, **fields: Any) -> str:
    client_id = uuid.uuid4().hex
    frame: dict[str, Any] = {"type": "send", "client_id": client_id, **fields}
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    await c.send(frame)
    return client_id


async def db_rows(postgres: Postgres, database_url: str, select: str) -> list[dict[str, Any]]:
    """The rows of ``select`` on the test's own database (psql, JSON)."""
    name = re.search(r"@/(\w+)\?", database_url)
    assert name is not None
    sql = (f"\\set QUIET on\n\\c {name[1]}\n\\pset tuples_only on\n\\pset format unaligned\n"
           f"SELECT coalesce(json_agg(r), '[]') FROM ({select}) r;\n")
    return list(json.loads(await trio.to_thread.run_sync(postgres.psql, sql)))


def stored_files(data_dir: Path) -> set[str]:
    uploads = data_dir / "uploads"
    return {p.name for p in uploads.iterdir()} if uploads.exists() else set()


async def test_upload_sanitises_the_name_and_judges_the_type_by_content(
        engine: Engine, postgres: Postgres, database_url: str, data_dir: Path) -> None:
    a1 = await engine.login("agent1@demo.test")
    async with agent(engine, 2):  # a chat starts only while someone is online
        chat = await engine.start_chat()
    # the name says text, the header says text: the bytes are a PNG
    r = await upload(engine, a1["token"], "../../etc/passwd", PNG, "text/plain")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["filename"] == "passwd" and body["content_type"] == "image/png" and body["size"] == len(PNG)
    # stored by generated name under the data dir, with size and SHA-256 in the database
    assert (data_dir / "uploads" / body["attachment_id"]).read_bytes() == PNG
    (row,) = await db_rows(postgres, database_url, "SELECT filename, size, sha256, uploader_kind, uploader_id::text "
                                                   f"FROM attachments WHERE id = '{body['attachment_id']}'")
    assert row == {"filename": "passwd", "size": len(PNG), "sha256": hashlib.sha256(PNG).hexdigest(),
                   "uploader_kind": "agent", "uploader_id": a1["agent"]["id"]}
    # a customer may upload too; control and format characters leave the name
    r = await upload(engine, chat["customer_token"], "re\x7fport\u202e.pdf", "Grüße, Cora\n".encode(),
                     "application/pdf")
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "report.pdf" and r.json()["content_type"] == "text/plain"
    # no token, no upload
    async with engine.http() as http:
        r = await http.post("/api/uploads", files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 401


async def test_renamed_executable_and_unreadable_zip_are_refused_with_415_and_not_stored(
        engine: Engine, data_dir: Path) -> None:
    a1 = await engine.login("agent1@demo.test")
    before = stored_files(data_dir)
    exe = b"MZ" + bytes(0x3A) + b"\x80\x00\x00\x00" + bytes(0x40) + b"PE\x00\x00\x64\x86" + bytes(300)
    r = await upload(engine, a1["token"], "invoice.pdf", exe, "application/pdf")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_type"
    # a ZIP whose directory zipfile cannot read ("version needed" 20.0) is refused too, not a 500
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    odd = bytearray(buf.getvalue())
    central = odd.find(b"PK\x01\x02")
    odd[central + 6: central + 8] = (200).to_bytes(2, "little")
    r = await upload(engine, a1["token"], "letter.docx", bytes(odd))
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_type"
    assert stored_files(data_dir) == before


async def test_sent_attachments_reach_both_sides_and_download_with_safe_headers(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            pdf_id = await uploaded(engine, a1.token, "manual.pdf", PDF)
            png_id = await uploaded(engine, a1.token, "diagram.png", PNG)
            ack = await a1.send_text(cid, "Here are the documents", attachments=[pdf_id, png_id])
            expected = [{"id": pdf_id, "filename": "manual.pdf", "content_type": "application/pdf", "size": len(PDF)},
                        {"id": png_id, "filename": "diagram.png", "content_type": "image/png", "size": len(PNG)}]
            got = await cu.expect("message", seq=ack["seq"])
            assert got["attachments"] == expected
            # the customer's attachment reaches the agent the same way
            shot_id = await uploaded(engine, chat["customer_token"], "screenshot.png", PNG)
            cack = await cu.send_text(None, "", attachments=[shot_id])
            seen = await a1.expect("message", seq=cack["seq"])
            assert seen["attachments"] == [{"id": shot_id, "filename": "screenshot.png",
                                            "content_type": "image/png", "size": len(PNG)}]

            r = await download(engine, chat["customer_token"], pdf_id)
            assert r.status_code == 200 and r.content == PDF
            assert r.headers["content-disposition"].startswith("attachment")
            assert "manual.pdf" in r.headers["content-disposition"]
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["content-type"].startswith("application/pdf")
            r = await download(engine, a1.token, shot_id)
            assert r.status_code == 200 and r.content == PNG

            # an agent who never took part sees nothing; a supervisor sees everything
            a2 = await engine.login("agent2@demo.test")
            assert (await download(engine, a2["token"], pdf_id)).status_code == 404
            supervisor = await engine.login("supervisor@demo.test", kind="supervisors")
            r = await download(engine, supervisor["token"], png_id)
            assert r.status_code == 200 and r.content == PNG
            # another chat's customer neither
            other = await engine.start_chat(email="otto@example.com")
            assert (await download(engine, other["customer_token"], pdf_id)).status_code == 404
            # an unsent upload is its uploader's only
            draft_id = await uploaded(engine, a1.token, "draft.txt", b"draft\n")
            assert (await download(engine, chat["customer_token"], draft_id)).status_code == 404
            assert (await download(engine, a1.token, draft_id)).status_code == 200
            assert (await download(engine, a1.token, str(uuid.uuid4()))).status_code == 404
            assert (await download(engine, a1.token, "not-a-uuid")).status_code == 404


async def test_send_refuses_a_sixth_a_foreign_and_a_reused_attachment(engine: Engine) -> None:
    async with agent(engine, 1) as a1:
        chat = await engine.start_chat()
        cid = chat["conversation_id"]
        async with connect(engine, chat["customer_token"], "customer") as cu:
            await accept_next(a1, cid)
            ids = [await uploaded(engine, a1.token, f"part{i}.txt", f"part {i}\n".encode()) for i in range(6)]

            client_id = await send_frame(a1, cid, text="six", attachments=ids)
            err = await a1.expect("error", ref=client_id)
            assert err["code"] == "too_many_attachments"

            # the agent's upload is not the customer's to send
            client_id = await send_frame(cu, None, text="mine?", attachments=[ids[0]])
            err = await cu.expect("error", ref=client_id)
            assert err["code"] == "not_found"

            ack = await a1.send_text(cid, "five", attachments=ids[:5])
            msg = await cu.expect("message", seq=ack["seq"])
            assert [a["id"] for a in msg["attachments"]] == ids[:5]

            # sent once, never again (a new client_id, so not a retry)
            client_id = await send_frame(a1, cid, text="again", attachments=[ids[0]])
            err = await a1.expect("error", ref=client_id)
            assert err["code"] == "not_found"
            # an id nobody uploaded
            client_id = await send_frame(a1, cid, text="ghost", attachments=[str(uuid.uuid4())])
            assert (await a1.expect("error", ref=client_id))["code"] == "not_found"
            # none of the refused sends became a message
            later = await a1.send_text(cid, "still here")
            assert later["seq"] == ack["seq"] + 1


async def multipart_stream(boundary: str, filename: str, size: int, sent: list[int]) -> AsyncIterator[bytes]:
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
           f"Content-Type: text/plain\r\n\r\n").encode()
    chunk = b"a" * (256 * 1024)
    left = size
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        left -= len(piece)
        sent[0] += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_oversize_upload_is_refused_with_413_and_nothing_is_stored(engine: Engine, data_dir: Path) -> None:
    a1 = await engine.login("agent1@demo.test")
    before = stored_files(data_dir)
    boundary = uuid.uuid4().hex
    sent = [0]
    size = 21 * MIB
    status: int | None = None
    async with engine.http() as http:
        try:
            # no Content-Length (chunked): the engine must count while it streams
            r = await http.post("/api/uploads", content=multipart_stream(boundary, "big.txt", size, sent),
                                headers={**bearer(a1["token"]),
                                         "Content-Type": f"multipart/form-data; boundary={boundary}"})
            status = r.status_code
            assert r.json()["error"]["code"] == "file_too_large"
        except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
            status = None  # the engine answered 413 and closed before the body was through
    assert status in (413, None)
    assert sent[0] > 20 * MIB
    # the engine is fine, and neither the file nor its temporary part stayed behind
    async with engine.http() as http:
        assert (await http.get("/healthz")).status_code == 200
    assert stored_files(data_dir) == before
    # a file just under the limit is fine
    r = await upload(engine, a1["token"], "big.txt", b"b" * (20 * MIB - 10), "text/plain")
    assert r.status_code == 201 and r.json()["size"] == 20 * MIB - 10


async def test_a_refused_upload_leaves_the_clients_connection_usable(engine: Engine) -> None:
    """An upload refused before its body was read (too large by Content-Length, no token) must not
    leave a kept-alive connection waiting for the unread rest: the next request on it is answered."""
    a1 = await engine.login("agent1@demo.test")
    big = b"a" * (21 * MIB)
    async with httpx.AsyncClient(base_url=engine.base, timeout=5) as http:   # one client: connections are reused
        for refused, headers in ((413, bearer(a1["token"])), (401, {})):
            r = await http.post("/api/uploads", headers=headers, files={"file": ("big.txt", big, "text/plain")})
            assert r.status_code == refused
            r = await http.post("/api/uploads", headers=bearer(a1["token"]),
                                files={"file": ("small.txt", b"small\n", "text/plain")})
            assert r.status_code == 201, r.text
