"""Queries of the administration API (PROTOCOL.md §10, §14): staff, queues (opening hours
included), canned messages and FAQ entries, read and changed, each change written with its
``audit_log`` row in one transaction.

Every change reads the object ``FOR UPDATE`` first, so the row it audits as "before" is the one it
changed even when two supervisors edit at once. The objects are given and returned as wire
dictionaries (what the API answers), so the audit log holds what the API showed; secrets are
masked in the audit log (``mask``). Triggers in ``schema.sql`` announce the committed change to
every engine (``frontdesk_staff``, ``frontdesk_queues``).

Error handling: what the database refuses is ``DatabaseError`` (a second account with one e-mail
address: ``UniqueViolation``, which the caller answers 409); the transaction is rolled back and
nothing is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from frontdesk.core.wire import iso
from frontdesk.engine.storage.db import Database, Row, Transaction

MASKED = "********"
SECRET_FIELDS = ("identity_secret",)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def mask(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """``obj`` as the audit log keeps it: a secret shows only whether it is set."""
    if obj is None:
        return None
    return {k: (MASKED if k in SECRET_FIELDS and v else v) for k, v in obj.items()}


async def _audit(tx: Transaction, actor_id: str, action: str, target: str, before: dict[str, Any] | None,
                 after: dict[str, Any] | None) -> None:
    await tx.fetch("INSERT INTO audit_log (id, actor_id, action, target, before, after) "
                   "VALUES ($1, $2, $3, $4, $5, $6)",
                   uuid.uuid4(), uuid.UUID(actor_id), action, target, mask(before), mask(after))


# ---- staff ----------------------------------------------------------------------------------

_STAFF = (
    "SELECT s.id, s.role, s.name, s.email, s.capacity, s.disabled_at, s.created_at, "
    "coalesce(st.presence, 'offline') AS presence, coalesce(st.open_conversations, 0) AS open_conversations, "
    "coalesce(ARRAY(SELECT m.queue FROM queue_members m WHERE m.staff_id = s.id ORDER BY m.queue), '{}') AS queues "
    "FROM staff s LEFT JOIN agent_status st ON st.agent_id = s.id ")


def staff_wire(row: Row) -> dict[str, Any]:
    """A staff member as supervisors see them (every field); a supervisor has no load."""
    out: dict[str, Any] = {"id": str(row["id"]), "name": row["name"], "email": row["email"],
                           "disabled": row["disabled_at"] is not None, "created_at": iso(row["created_at"])}
    if row["role"] == "agent":
        out.update({"capacity": row["capacity"], "queues": list(row["queues"]),
                    "presence": "offline" if row["disabled_at"] is not None else row["presence"],
                    "open_conversations": row["open_conversations"]})
    return out


async def staff_list(db: Database, role: str) -> list[Row]:
    return await db.fetch(_STAFF + "WHERE s.role = $1 ORDER BY lower(s.name), s.id", role)


async def staff_member(db: Database, staff_id: str, role: str) -> Row | None:
    sid = _uuid(staff_id)
    if sid is None:
        return None
    return await db.fetchrow(_STAFF + "WHERE s.id = $1 AND s.role = $2", sid, role)


async def _staff_in(tx: Transaction, sid: uuid.UUID, role: str, *, lock: bool) -> Row | None:
    if lock:
        await tx.fetch("SELECT 1 FROM staff WHERE id = $1 FOR UPDATE", sid)
    rows = await tx.fetch(_STAFF + "WHERE s.id = $1 AND s.role = $2", sid, role)
    return rows[0] if rows else None


async def existing_queues(db: Database, names: Sequence[str]) -> set[str]:
    rows = await db.fetch("SELECT name FROM queues WHERE name = ANY($1::text[])", list(names))
    return {r["name"] for r in rows}


async def agent_ids(db: Database, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are agents (disabled ones too)."""
    uuids = [u for u in (_uuid(i) for i in ids) if u is not None]
    rows = await db.fetch("SELECT id FROM staff WHERE role = 'agent' AND id = ANY($1::uuid[])", uuids)
    return {str(r["id"]) for r in rows}


async def create_staff(db: Database, actor_id: str, role: str, name: str, email: str, password_hash: str,
                       capacity: int, queues: Sequence[str]) -> dict[str, Any]:
    """A new agent or supervisor; returns its wire form. Raises ``UniqueViolation`` for a taken e-mail."""
    sid = uuid.uuid4()
    async with db.transaction() as tx:
        await tx.fetch("INSERT INTO staff (id, role, email, name, password_hash, capacity) "
                       "VALUES ($1, $2, $3, $4, $5, $6)", sid, role, email, name, password_hash, capacity)
        await tx.executemany("INSERT INTO queue_members (queue, staff_id) VALUES ($1, $2)",
                             [(q, sid) for q in queues])
        row = await _staff_in(tx, sid, role, lock=False)
        assert row is not None
        after = staff_wire(row)
        await _audit(tx, actor_id, f"{role}.create", str(sid), None, after)
    return after


async def change_staff(db: Database, actor_id: str, staff_id: str, role: str, changes: dict[str, Any],
                       queues: Sequence[str] | None, password_hash: str | None,
                       disabled: bool | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Apply the changes to one staff member; (before, after) wire forms, or None when there is no
    such member of ``role``. Disabling deletes every token of theirs in the same transaction."""
    sid = _uuid(staff_id)
    if sid is None:
        return None
    async with db.transaction() as tx:
        row = await _staff_in(tx, sid, role, lock=True)
        if row is None:
            return None
        before = staff_wire(row)
        for column in ("name", "email", "capacity"):
            if column in changes:
                await tx.fetch(f"UPDATE staff SET {column} = $2 WHERE id = $1", sid, changes[column])
        if password_hash is not None:
            await tx.fetch("UPDATE staff SET password_hash = $2 WHERE id = $1", sid, password_hash)
        if disabled is True:
            await tx.fetch("UPDATE staff SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1", sid)
            await tx.fetch("DELETE FROM tokens WHERE subject_id = $1 AND kind = $2", sid, role)
        elif disabled is False:
            await tx.fetch("UPDATE staff SET disabled_at = NULL WHERE id = $1", sid)
        if queues is not None:
            await tx.fetch("DELETE FROM queue_members WHERE staff_id = $1 AND NOT (queue = ANY($2::text[]))",
                           sid, list(queues))
            await tx.executemany("INSERT INTO queue_members (queue, staff_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                 [(q, sid) for q in queues])
        changed = await _staff_in(tx, sid, role, lock=False)
        assert changed is not None
        after = staff_wire(changed)
        audited_after = {**after, "password": "reset"} if password_hash is not None else after
        await _audit(tx, actor_id, f"{role}.update", str(sid), before, audited_after)
    return before, after


async def live_profile(db: Database, staff_id: str) -> Row | None:
    """What the Router needs of an agent after a change: name, e-mail, capacity, queues, disabled."""
    sid = _uuid(staff_id)
    if sid is None:
        return None
    return await db.fetchrow(
        "SELECT s.id, s.role, s.name, s.email, s.capacity, s.disabled_at, "
        "coalesce(ARRAY(SELECT m.queue FROM queue_members m WHERE m.staff_id = s.id ORDER BY m.queue), '{}') "
        "AS queues FROM staff s WHERE s.id = $1", sid)


# ---- queues ---------------------------------------------------------------------------------

_QUEUE = (
    "SELECT q.name, q.title, q.mode, q.required_fields, q.faq_suggestions, q.transcript_mails, q.retention_days, "
    "q.identity_secret, q.sender_name, q.mail_templates, q.consent_notice, q.opening_hours, q.closed_message, "
    "q.created_at, "
    "coalesce(ARRAY(SELECT m.staff_id::text FROM queue_members m JOIN staff s ON s.id = m.staff_id "
    "WHERE m.queue = q.name AND s.role = 'agent' ORDER BY m.staff_id), '{}') AS members FROM queues q ")

# the columns a queue's PATCH may set (members are rows of queue_members)
QUEUE_COLUMNS = ("title", "mode", "required_fields", "faq_suggestions", "transcript_mails", "retention_days",
                 "identity_secret", "sender_name", "mail_templates", "opening_hours", "closed_message")


def queue_wire(row: Row) -> dict[str, Any]:
    return {"name": row["name"], "title": row["title"], "mode": row["mode"], "members": list(row["members"]),
            "required_fields": list(row["required_fields"] or []), "faq_suggestions": row["faq_suggestions"],
            "transcript_mails": row["transcript_mails"], "retention_days": row["retention_days"],
            "identity_secret": row["identity_secret"], "sender_name": row["sender_name"],
            "mail_templates": row["mail_templates"] or {}, "consent_notice": row["consent_notice"],
            "opening_hours": row["opening_hours"], "closed_message": row["closed_message"],
            "created_at": iso(row["created_at"])}


async def queue_list(db: Database) -> list[Row]:
    return await db.fetch(_QUEUE + "ORDER BY q.name")


async def _queue_in(tx: Transaction, name: str, *, lock: bool) -> Row | None:
    rows = await tx.fetch(_QUEUE + "WHERE q.name = $1" + (" FOR UPDATE OF q" if lock else ""), name)
    return rows[0] if rows else None


async def _set_members(tx: Transaction, name: str, members: Sequence[str]) -> None:
    ids = [uuid.UUID(m) for m in members]
    await tx.fetch("DELETE FROM queue_members m USING staff s WHERE m.queue = $1 AND s.id = m.staff_id "
                   "AND s.role = 'agent' AND NOT (m.staff_id = ANY($2::uuid[]))", name, ids)
    await tx.executemany("INSERT INTO queue_members (queue, staff_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                         [(name, i) for i in ids])


async def create_queue(db: Database, actor_id: str, name: str, settings: dict[str, Any],
                       members: Sequence[str]) -> dict[str, Any]:
    """A new queue (always open until its hours are set); raises ``UniqueViolation`` for a taken name."""
    columns = ["name", *settings]
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    async with db.transaction() as tx:
        await tx.fetch(f"INSERT INTO queues ({', '.join(columns)}) VALUES ({placeholders})",
                       name, *settings.values())
        await _set_members(tx, name, members)
        row = await _queue_in(tx, name, lock=False)
        assert row is not None
        after = queue_wire(row)
        await _audit(tx, actor_id, "queue.create", name, None, after)
    return after


async def change_queue(db: Database, actor_id: str, name: str, settings: dict[str, Any],
                       members: Sequence[str] | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    async with db.transaction() as tx:
        row = await _queue_in(tx, name, lock=True)
        if row is None:
            return None
        before = queue_wire(row)
        if settings:
            sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(settings, start=2))
            await tx.fetch(f"UPDATE queues SET {sets} WHERE name = $1", name, *settings.values())
        if members is not None:
            await _set_members(tx, name, members)
        changed = await _queue_in(tx, name, lock=False)
        assert changed is not None
        after = queue_wire(changed)
        await _audit(tx, actor_id, "queue.update", name, before, after)
    return before, after


# ---- canned messages ------------------------------------------------------------------------

def canned_wire(row: Row) -> dict[str, Any]:
    return {"id": str(row["id"]), "title": row["title"], "text": row["text"], "queue": row["queue"]}


async def canned_list(db: Database) -> list[Row]:
    return await db.fetch("SELECT id, title, text, queue FROM canned_messages ORDER BY queue NULLS FIRST, title, id")


async def canned_title_taken(db: Database, queue: str | None, title: str, other_than: str | None) -> bool:
    return bool(await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM canned_messages WHERE queue IS NOT DISTINCT FROM $1 "
        "AND lower(title) = lower($2) AND id IS DISTINCT FROM $3)", queue, title, _uuid(other_than or "")))


async def create_canned(db: Database, actor_id: str, title: str, text: str, queue: str | None) -> dict[str, Any]:
    cid = uuid.uuid4()
    async with db.transaction() as tx:
        rows = await tx.fetch("INSERT INTO canned_messages (id, queue, title, text) VALUES ($1, $2, $3, $4) "
                              "RETURNING id, title, text, queue", cid, queue, title, text)
        after = canned_wire(rows[0])
        await _audit(tx, actor_id, "canned.create", str(cid), None, after)
    return after


async def change_canned(db: Database, actor_id: str, canned_id: str, changes: dict[str, Any]
                        ) -> dict[str, Any] | None:
    cid = _uuid(canned_id)
    if cid is None:
        return None
    async with db.transaction() as tx:
        rows = await tx.fetch("SELECT id, title, text, queue FROM canned_messages WHERE id = $1 FOR UPDATE", cid)
        if not rows:
            return None
        before = canned_wire(rows[0])
        after = before
        if changes:
            sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
            rows = await tx.fetch(f"UPDATE canned_messages SET {sets} WHERE id = $1 RETURNING id, title, text, queue",
                                  cid, *changes.values())
            after = canned_wire(rows[0])
        await _audit(tx, actor_id, "canned.update", str(cid), before, after)
    return after


async def delete_canned(db: Database, actor_id: str, canned_id: str) -> bool:
    cid = _uuid(canned_id)
    if cid is None:
        return False
    async with db.transaction() as tx:
        rows = await tx.fetch("DELETE FROM canned_messages WHERE id = $1 RETURNING id, title, text, queue", cid)
        if not rows:
            return False
        await _audit(tx, actor_id, "canned.delete", str(cid), canned_wire(rows[0]), None)
    return True


async def canned_message(db: Database, canned_id: str) -> Row | None:
    cid = _uuid(canned_id)
    if cid is None:
        return None
    return await db.fetchrow("SELECT id, title, text, queue FROM canned_messages WHERE id = $1", cid)


# ---- FAQ entries ----------------------------------------------------------------------------

_FAQ = "SELECT id, queue, question, answer, language::text AS language, created_at FROM faq_entries "


def faq_wire(row: Row) -> dict[str, Any]:
    return {"id": str(row["id"]), "queue": row["queue"], "question": row["question"], "answer": row["answer"],
            "language": row["language"], "created_at": iso(row["created_at"])}


async def faq_list(db: Database, queue: str | None) -> list[Row]:
    return await db.fetch(_FAQ + "WHERE $1::text IS NULL OR queue = $1 ORDER BY queue, lower(question), id", queue)


async def faq_entry(db: Database, faq_id: str) -> Row | None:
    fid = _uuid(faq_id)
    if fid is None:
        return None
    return await db.fetchrow(_FAQ + "WHERE id = $1", fid)


async def faq_queue_language(db: Database, queue: str) -> tuple[str, bool] | None:
    """The queue's text-search configuration and whether this PostgreSQL has it; None: no such queue."""
    row = await db.fetchrow("SELECT language, EXISTS (SELECT 1 FROM pg_ts_config c WHERE c.cfgname = q.language) "
                            "AS known FROM queues q WHERE name = $1", queue)
    return None if row is None else (row["language"], row["known"])


async def faq_question_taken(db: Database, queue: str, question: str, other_than: str | None) -> bool:
    return bool(await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM faq_entries WHERE queue = $1 AND lower(question) = lower($2) "
        "AND id IS DISTINCT FROM $3)", queue, question, _uuid(other_than or "")))


async def create_faq(db: Database, actor_id: str, queue: str, question: str, answer: str) -> dict[str, Any] | None:
    """A new entry stemmed with its queue's text-search configuration; None when the queue is gone."""
    fid = uuid.uuid4()
    async with db.transaction() as tx:
        await tx.fetch("INSERT INTO faq_entries (id, queue, question, answer, language) "
                       "SELECT $1, q.name, $2, $3, q.language::regconfig FROM queues q WHERE q.name = $4",
                       fid, question, answer, queue)
        rows = await tx.fetch(_FAQ + "WHERE id = $1", fid)
        if not rows:
            return None
        after = faq_wire(rows[0])
        await _audit(tx, actor_id, "faq.create", str(fid), None, after)
    return after


async def change_faq(db: Database, actor_id: str, faq_id: str, queue: str | None, question: str | None,
                     answer: str | None) -> dict[str, Any] | None:
    """The changed entry (its language follows its queue), or None when there is no such entry."""
    fid = _uuid(faq_id)
    if fid is None:
        return None
    async with db.transaction() as tx:
        rows = await tx.fetch(_FAQ + "WHERE id = $1 FOR UPDATE", fid)
        if not rows:
            return None
        before = faq_wire(rows[0])
        await tx.fetch("UPDATE faq_entries f SET queue = q.name, question = coalesce($2, f.question), "
                       "answer = coalesce($3, f.answer), language = q.language::regconfig FROM queues q "
                       "WHERE f.id = $1 AND q.name = coalesce($4, f.queue)", fid, question, answer, queue)
        rows = await tx.fetch(_FAQ + "WHERE id = $1", fid)
        after = faq_wire(rows[0])
        await _audit(tx, actor_id, "faq.update", str(fid), before, after)
    return after


async def delete_faq(db: Database, actor_id: str, faq_id: str) -> bool:
    fid = _uuid(faq_id)
    if fid is None:
        return False
    async with db.transaction() as tx:
        rows = await tx.fetch("DELETE FROM faq_entries WHERE id = $1 "
                              "RETURNING id, queue, question, answer, language::text AS language, created_at", fid)
        if not rows:
            return False
        await _audit(tx, actor_id, "faq.delete", str(fid), faq_wire(rows[0]), None)
    return True


# ---- the audit log --------------------------------------------------------------------------

async def audit_entries(db: Database, since: datetime | None, limit: int) -> list[Row]:
    """Newest first, at or after ``since``."""
    return await db.fetch(
        "SELECT a.id, a.at, a.actor_id, s.name AS actor_name, s.role AS actor_role, a.action, a.target, "
        "a.before, a.after FROM audit_log a LEFT JOIN staff s ON s.id = a.actor_id "
        "WHERE $1::timestamptz IS NULL OR a.at >= $1 ORDER BY a.at DESC, a.id LIMIT $2", since, limit)


def audit_wire(row: Row) -> dict[str, Any]:
    actor = None
    if row["actor_id"] is not None:
        actor = {"id": str(row["actor_id"]), "name": row["actor_name"], "kind": row["actor_role"]}
    return {"id": str(row["id"]), "at": iso(row["at"]), "actor": actor, "action": row["action"],
            "target": row["target"], "before": row["before"], "after": row["after"]}
