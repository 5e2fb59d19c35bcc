"""Commit plan: a group commit's writes as few statements (round trips) as their order allows.

A round trip to PostgreSQL is cheap for PostgreSQL and dear for a busy engine: each one waits a
scheduler round for the socket and another for trio-asyncio's loop. So a batch becomes, where it
can, ONE statement, atomic on its own without BEGIN and COMMIT:

- **Rounds.** Only a write's ``key`` orders it against the others (a key names what the write is
  about: a conversation, an agent; a write without a key depends on no other write of the
  batch). The n-th write of each key goes to round n; the rounds run in order. (The Persister's
  batches hold one write per key, so they are one round; the rounds keep ``plan`` right for any
  list of writes.)
- **Bulk forms.** A statement registered with a ``Bulk`` form writes every row of its round in
  one statement: its ``$k`` is an array of each row's k-th argument (``unnest``), so the text
  stays the same whatever the number of rows, and PostgreSQL keeps one prepared plan for it.
- **Joined.** A round's statements become parts of ONE statement (data-modifying CTEs, ``join``),
  sorted by their text, so one set of shapes always gives the same text. The parts share one
  snapshot: no part sees another's changes (foreign keys are checked at the end of the
  statement, so a row may still refer to one inserted by another part). A round is joined only
  when that cannot matter: every statement has a bulk form or appears once, none is itself a
  ``WITH``, and no write of the round changes, in two of its statements, a table that one of
  them updates (such a write needs to see its own earlier statement: ``ordered``).
- Otherwise the round's statements run one after the other in the transaction, each group of
  equal SQL as one ``executemany``, taken shape by shape and column by column so that each key's
  writes and each write's statements keep their order.

Two writes with different keys must not change the same row in one round: keys are what
orders writes. Should they depend on each other after all, the statement fails (a duplicate key,
a foreign key) and the Persister retries every write alone, in arrival order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from frontdesk.engine.storage.db import Statement, Step


class Bulk(NamedTuple):
    """The form of a one-row statement that writes many rows in one statement.

    ``sql``'s ``$k`` is the array of every row's k-th argument (in the one-row statement's order).
    ``json`` lists the arguments (0-based) that go as JSON text, for the SQL to cast: asyncpg
    would read a list inside an array as one more dimension of the array.
    """

    sql: str
    json: tuple[int, ...] = ()

    def statement(self, rows: Sequence[Sequence[Any]]) -> Statement:
        columns: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)]
        for k in self.json:
            columns[k] = [None if v is None else orjson.dumps(v).decode() for v in columns[k]]
        return self.sql, tuple(columns)


def join(*statements: Statement) -> Statement:
    """``statements`` as ONE statement (data-modifying CTEs): one round trip, atomic on its own.

    The parts share one snapshot; foreign keys are checked at the end of the statement, so a row
    may refer to one inserted by another part."""
    if len(statements) == 1:
        return statements[0]
    args: list[Any] = []
    for _, values in statements:
        args.extend(values)
    return _joined_text(tuple((sql, len(values)) for sql, values in statements)), tuple(args)


@lru_cache(maxsize=1024)
def _joined_text(parts: tuple[tuple[str, int], ...]) -> str:
    """The text of ``join`` for parts of these SQL texts and numbers of arguments: a busy engine
    joins the same few sets of shapes hundreds of times a second."""
    texts: list[str] = []
    shift = 0
    for sql, n_args in parts:
        texts.append(_shift_placeholders(sql, shift))
        shift += n_args
    ctes = ", ".join(f"s{i} AS ({sql})" for i, sql in enumerate(texts[:-1]))
    return f"WITH {ctes} {texts[-1]}"


def _shift_placeholders(sql: str, by: int) -> str:
    """``$n`` → ``$(n + by)``; for the engine's own statements, which have no ``$`` in literals."""
    return re.sub(r"\$(\d+)", lambda mo: f"${int(mo.group(1)) + by}", sql) if by else sql


_TARGET = re.compile(r"\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def _target(sql: str) -> tuple[str, bool] | None:
    """The table ``sql`` writes and whether it only adds rows (a plain INSERT, or one that does
    nothing on conflict); None for anything else (a ``WITH``, a ``SELECT``)."""
    mo = _TARGET.match(sql)
    if mo is None:
        return None
    adds_only = mo.group(1)[0].upper() == "I" and "DO UPDATE" not in sql.upper()
    return mo.group(2).lower(), adds_only


def ordered(statements: Sequence[Statement]) -> bool:
    """Whether a write's statements must run one after the other: two of them write one table and
    one of those two may change existing rows (it could have to see the other's row)."""
    if len(statements) < 2:
        return False
    tables: dict[str, bool] = {}
    for sql, _ in statements:
        target = _target(sql)
        if target is None:
            return True
        table, adds_only = target
        if table in tables and not (adds_only and tables[table]):
            return True
        tables[table] = adds_only and tables.get(table, True)
    return False


def plan(writes: Sequence[tuple[object, Sequence[Statement]]], bulk: Mapping[str, Bulk]) -> Sequence[Step]:
    """The steps that commit ``writes`` (each a key and its statements, in arrival order); a key
    of None makes a write depend on no other. One step needs no transaction around it."""
    rounds: list[list[Sequence[Statement]]] = []
    depth: dict[object, int] = {}
    for i, (key, statements) in enumerate(writes):
        k = key if key is not None else ("no key", i)
        n = depth.get(k, 0)
        depth[k] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(statements)
    steps: list[tuple[str, list[Sequence[Any]]]] = []
    for round_writes in rounds:
        joined = _joined(round_writes, bulk)
        for sql, arglists in [(joined[0], [joined[1]])] if joined is not None else _in_order(round_writes):
            if steps and steps[-1][0] == sql:
                steps[-1][1].extend(arglists)   # equal SQL in a row: one executemany
            else:
                steps.append((sql, arglists))
    return steps


def _joined(round_writes: list[Sequence[Statement]], bulk: Mapping[str, Bulk]) -> Statement | None:
    """The round as one statement, or None when it cannot be one (see the module's docstring)."""
    rows: dict[str, list[Sequence[Any]]] = {}
    for statements in round_writes:
        if ordered(statements):
            return None
        for sql, args in statements:
            rows.setdefault(sql, []).append(args)
    parts: list[Statement] = []
    for sql, arglists in rows.items():
        form = bulk.get(sql)
        if form is not None:
            parts.append(form.statement(arglists))
        elif len(arglists) == 1 and _target(sql) is not None:
            parts.append((sql, arglists[0]))
        else:
            return None
    parts.sort(key=lambda part: part[0])
    return join(*parts)


def _in_order(round_writes: list[Sequence[Statement]]) -> list[tuple[str, list[Sequence[Any]]]]:
    """The round shape by shape (a shape is a write's SQL texts in order), column by column: each
    write's statements keep their order."""
    shapes: dict[tuple[str, ...], list[Sequence[Statement]]] = {}
    for statements in round_writes:
        shapes.setdefault(tuple(sql for sql, _ in statements), []).append(statements)
    return [(sql, [statements[column][1] for statements in group])
            for shape, group in shapes.items() for column, sql in enumerate(shape)]
