"""``frontdesk import-mail`` end to end (PROTOCOL.md §7, §14): the real command in a subprocess on
a real PostgreSQL, then the rows, the files, a second run, the exit statuses, and a running engine
that shows what was imported through its HTTP API."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import agent, connect, make_config, running_engine
from mailkit import PDF, QUEUE, Archive, at, import_mail, summary_line, write_archive

from frontdesk.core import auth
from frontdesk.core.wire import iso, utc_now
from frontdesk.engine.storage.db import open_database


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return write_archive(tmp_path / "mail")


async def rows(database_url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with open_database(database_url) as db:
        return [dict(r) for r in await db.fetch(sql, *args)]


async def conversations(database_url: str) -> dict[str, dict[str, Any]]:
    """The imported conversations by their customer's address, each with its messages in seq order."""
    found = await rows(database_url, "SELECT c.*, cu.email AS customer_address, cu.name AS customer_record_name "
                                     "FROM conversations c JOIN customers cu ON cu.id = c.customer_id "
                                     "WHERE c.id IN (SELECT conversation_id FROM messages WHERE imported)")
    out = {}
    for c in found:
        c["messages"] = await rows(database_url, "SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq",
                                   c["id"])
        out[c["customer_address"]] = c
    return out


def uploads(data_dir: Path) -> set[str]:
    folder = data_dir / "uploads"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


async def test_threads_of_an_mbox_a_maildir_and_eml_files_become_resolved_conversations_of_their_customers(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    run = await import_mail(database_url, data_dir, *archive.paths)
    assert run.status == 0, run.stderr
    assert summary_line(run, "threads") == "3 (3 new conversations, 0 imported before)"
    assert summary_line(run, "messages") == "7 imported, 0 imported before"
    assert summary_line(run, "attachments") == "1 imported"

    convs = await conversations(database_url)
    assert set(convs) == {"cora@example.com", "erik@example.net", "fay@example.com"}
    for c in convs.values():
        assert (c["queue"], c["status"], c["owner_id"]) == (QUEUE, "resolved", None)
        assert all(m["imported"] for m in c["messages"])
        assert [m["seq"] for m in c["messages"]] == list(range(1, len(c["messages"]) + 1))
        last = len(c["messages"])
        assert (c["customer_read_seq"], c["notified_seq"]) == (last, last)   # old mail is neither unread nor news
        assert c["created_at"] == c["messages"][0]["created_at"]
        assert c["last_activity_at"] == c["resolved_at"] == c["messages"][-1]["created_at"]

    cora = convs["cora@example.com"]
    assert cora["customer_name"] == cora["customer_record_name"] == "Cora Customer"
    assert [(m["sender_kind"], m["sender_name"], m["created_at"]) for m in cora["messages"]] == [
        ("customer", "Cora Customer", at(0)), ("agent", "Anna Agent", at(2)),
        ("customer", "Cora Customer", at(3)), ("customer", "Cora Customer", at(48))]
    assert [m["text"] for m in cora["messages"]] == [
        "Where is my order 17?", "It ships today, the label is attached.\n\n> Where is my order 17?",
        "Thank you, Anna!\n\nCora", "It arrived."]
    assert [m["source_id"] for m in cora["messages"]][:3] == ["<c1@example.com>", "<a1@shop.test>", "<c2@example.com>"]
    assert cora["messages"][3]["source_id"].startswith("sha256:")       # the .eml without a Message-ID
    anna = cora["messages"][1]
    assert anna["sender_id"] is None and anna["sender_key"] == "agent:anna@shop.test"  # an agent without an account

    erik = convs["erik@example.net"]
    agent1 = (await rows(database_url, "SELECT id FROM staff WHERE email = 'agent1@demo.test'"))[0]["id"]
    assert [(m["sender_kind"], m["sender_id"], m["text"]) for m in erik["messages"]] == [
        ("agent", agent1, "Invoice 5 is due."), ("customer", None, "Paid it, thanks.")]
    assert erik["customer_name"] == "Erik" and erik["last_owner_id"] == agent1

    [listed] = anna["attachments"]
    assert set(listed) == {"id", "filename", "content_type", "size"}
    assert (listed["filename"], listed["content_type"], listed["size"]) == ("label.pdf", "application/pdf", len(PDF))
    [stored] = await rows(database_url, "SELECT * FROM attachments WHERE id = $1", uuid.UUID(listed["id"]))
    assert (stored["message_id"], stored["conversation_id"]) == (anna["id"], cora["id"])
    assert (stored["uploader_kind"], stored["size"], stored["created_at"]) == ("agent", len(PDF), at(2))
    assert (data_dir / "uploads" / listed["id"]).read_bytes() == PDF
    assert uploads(data_dir) == {listed["id"]}      # the staging folder is gone


async def test_skipped_messages_are_listed_on_stderr_with_their_reason_and_counted(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    run = await import_mail(database_url, data_dir, *archive.paths)
    assert run.status == 0
    assert summary_line(run, "skipped") == (
        "3 messages (malformed: 1, no customer: every address in its thread is an agent's: 1, "
        "no parsable Date: 1)")
    lines = run.stderr.splitlines()
    assert f"skipped {archive.mbox}:3 <d1@example.org>: no parsable Date" in lines
    assert any(line.startswith(f"skipped {archive.mbox}:4 <broken@example.org>: malformed: ") for line in lines)
    assert any(line.startswith(f"skipped {archive.maildir}/.Sent:") and "<internal@demo.test>" in line
               for line in lines)
    # the messages after the malformed one in the same mbox are imported
    assert "<c2@example.com>" in {r["source_id"] for r in await rows(database_url, "SELECT source_id FROM messages")}


async def test_a_second_import_of_the_same_files_adds_nothing_and_says_so(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    first = await import_mail(database_url, data_dir, *archive.paths)
    assert first.status == 0, first.stderr
    count = "SELECT (SELECT count(*) FROM conversations) AS c, (SELECT count(*) FROM messages) AS m, " \
            "(SELECT count(*) FROM attachments) AS a, (SELECT count(*) FROM customers) AS cu"
    before, files = await rows(database_url, count), uploads(data_dir)
    again = await import_mail(database_url, data_dir, *archive.paths)
    assert again.status == 0, again.stderr
    assert summary_line(again, "threads") == "3 (0 new conversations, 3 imported before)"
    assert summary_line(again, "messages") == "0 imported, 7 imported before"
    assert summary_line(again, "attachments") == "0 imported"
    assert again.stdout.splitlines()[-1] == "nothing new to import"
    assert await rows(database_url, count) == before and uploads(data_dir) == files


async def test_later_mails_of_a_thread_imported_before_become_a_conversation_of_their_own(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    assert (await import_mail(database_url, data_dir, str(archive.mbox))).status == 0
    first = await rows(database_url, "SELECT id, seq, text FROM messages WHERE imported ORDER BY seq")
    later = await import_mail(database_url, data_dir, str(archive.mbox), str(archive.eml))
    assert later.status == 0, later.stderr
    # Cora's late reply joins her thread, whose three mails are there already; Fay's is new
    assert summary_line(later, "threads") == "2 (2 new conversations, 0 imported before)"
    assert summary_line(later, "messages") == "2 imported, 3 imported before"
    cora = await rows(database_url, "SELECT c.id, array_agg(m.text ORDER BY m.seq) AS texts FROM conversations c "
                                    "JOIN messages m ON m.conversation_id = c.id WHERE c.customer_email = "
                                    "'cora@example.com' GROUP BY c.id ORDER BY min(m.created_at)")
    assert [c["texts"] for c in cora] == [["Where is my order 17?",
                                           "It ships today, the label is attached.\n\n> Where is my order 17?",
                                           "Thank you, Anna!\n\nCora"], ["It arrived."]]
    # the conversation imported first is left exactly as it was
    assert await rows(database_url, "SELECT id, seq, text FROM messages WHERE conversation_id = $1 ORDER BY seq",
                      cora[0]["id"]) == first


async def test_a_path_that_cannot_be_read_exits_1_and_the_readable_ones_are_imported(
        database_url: str, data_dir: Path, archive: Archive, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mbox"
    run = await import_mail(database_url, data_dir, str(missing), str(archive.mbox))
    assert run.status == 1
    assert f"cannot read {missing}: no such file or directory" in run.stderr.splitlines()
    assert summary_line(run, "unreadable") == "1 path"
    assert summary_line(run, "messages") == "3 imported, 0 imported before"


async def test_an_unknown_queue_is_refused_and_nothing_is_stored(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    run = await import_mail(database_url, data_dir, *archive.paths, queue="no-such-queue")
    assert run.status == 2
    assert "there is no queue 'no-such-queue'" in run.stderr
    assert await rows(database_url, "SELECT id FROM messages WHERE imported") == []


async def test_a_running_engine_shows_the_imported_conversation_with_its_dates_and_files(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    async with running_engine(make_config(database_url, data_dir)) as engine:
        run = await import_mail(database_url, data_dir, *archive.paths)     # while the engine runs
        assert run.status == 0, run.stderr
        cora = (await conversations(database_url))["cora@example.com"]
        supervisor = await engine.login("supervisor@demo.test", kind="supervisors")
        auth = {"Authorization": f"Bearer {supervisor['token']}"}
        async with engine.http() as http:
            r = await http.get(f"/api/conversations/{cora['id']}/transcript", headers=auth)
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["status"], body["queue"]) == ("resolved", QUEUE)
            messages = body["messages"]
            assert [m["imported"] for m in messages] == [True] * 4
            assert [m["at"] for m in messages] == [iso(at(h)) for h in (0, 2, 3, 48)]
            assert [m["sender"]["kind"] for m in messages] == ["customer", "agent", "customer", "customer"]
            [attachment] = messages[1]["attachments"]
            download = await http.get(f"/api/attachments/{attachment['id']}", headers=auth)
            assert download.status_code == 200 and download.content == PDF
            # a message the engine stores itself carries no imported field
            async with agent(engine, 1):
                chat = await engine.start_chat()
            customer = {"Authorization": f"Bearer {chat['customer_token']}"}
            own = (await http.get(f"/api/conversations/{chat['conversation_id']}/transcript", headers=customer)).json()
            assert "imported" not in own["messages"][0]


async def test_an_engine_started_after_the_import_does_not_take_the_resolved_conversations_up_again(
        database_url: str, data_dir: Path, archive: Archive, caplog: pytest.LogCaptureFixture) -> None:
    assert (await import_mail(database_url, data_dir, *archive.paths)).status == 0
    caplog.set_level(logging.INFO)
    # a conversation taken up as open would have no customer: its actor would end it at once
    async with running_engine(make_config(database_url, data_dir, customer_grace_ms=1)):
        restored = [r.getMessage() for r in caplog.records if r.getMessage().startswith("restored ")]
        assert restored == []       # start-up rebuilt no open conversation from the imported ones
    statuses = await rows(database_url, "SELECT DISTINCT c.status FROM conversations c JOIN messages m "
                                        "ON m.conversation_id = c.id WHERE m.imported")
    assert statuses == [{"status": "resolved"}]


async def account_token(database_url: str, email: str) -> str:
    """A signed-in customer's token, stored as the sign-in route stores it."""
    token, token_hash = auth.new_token()
    async with open_database(database_url) as db:
        customer_id = await db.fetchval("SELECT id FROM customers WHERE lower(email) = lower($1)", email)
        await db.execute("INSERT INTO tokens (token_hash, kind, subject_id, customer_id, expires_at) "
                         "VALUES ($1, 'account', $2, $2, $3)", token_hash, customer_id, utc_now() + timedelta(hours=1))
    return token


async def test_a_customer_who_comes_back_finds_the_old_thread_and_writing_reopens_it_to_its_last_agent(
        database_url: str, data_dir: Path, archive: Archive) -> None:
    assert (await import_mail(database_url, data_dir, *archive.paths)).status == 0
    erik = (await conversations(database_url))["erik@example.net"]
    eid = str(erik["id"])
    token = await account_token(database_url, "erik@example.net")
    async with running_engine(make_config(database_url, data_dir)) as engine, agent(engine, 1) as a1:
        async with connect(engine, token, "Erik signed in", resume={eid: 0}) as customer:
            [listed] = customer.info["conversations"]
            assert (listed["conversation_id"], listed["status"], listed["unread"]) == (eid, "resolved", 0)
            assert listed["last_message"]["text"] == "Paid it, thanks."
            replayed = [await customer.expect("message", conversation_id=eid, seq=n) for n in (1, 2)]
            assert [(m["imported"], m["at"], m["sender"]["name"]) for m in replayed] == [
                (True, iso(at(24)), "Agent One"), (True, iso(at(30)), "Erik")]
            await customer.send({"type": "send", "client_id": "back", "text": "One more question",
                                 "conversation_id": eid})
            ack = await customer.expect("ack", client_id="back")
            assert (ack["conversation_id"], ack["seq"]) == (eid, 3)
            offer = await a1.expect("offer", conversation_id=eid)   # agent1 wrote last in the old thread
            assert offer["question"] == "One more question"
