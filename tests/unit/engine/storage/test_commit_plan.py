"""The commit plan (engine/storage/commit_plan.py): a batch of writes as few statements as their
order allows; the plans themselves (their effect in a real PostgreSQL through the Persister:
tests/e2e/storage/test_commit_plan_in_postgres.py)."""

from __future__ import annotations

from frontdesk.engine.storage.commit_plan import Bulk, ordered, plan

A = "INSERT INTO a (n) VALUES ($1)"
A_MANY = "INSERT INTO a (n) SELECT * FROM unnest($1::int[])"
B = "INSERT INTO b (n, note) VALUES ($1, $2)"
C = "UPDATE c SET n = $2 WHERE id = $1"
BULK = {A: Bulk(A_MANY)}


def test_a_round_of_bulk_forms_and_single_statements_is_one_statement() -> None:
    writes = [("k1", [(A, (1,)), (B, (1, "one"))]), ("k2", [(A, (2,))]), (None, [(C, (7, 8))])]
    [(sql, arglists)] = plan(writes, BULK)
    # the parts sorted by their text, so one set of shapes always gives the same statement
    assert sql == ("WITH s0 AS (INSERT INTO a (n) SELECT * FROM unnest($1::int[])), "
                   "s1 AS (INSERT INTO b (n, note) VALUES ($2, $3)) UPDATE c SET n = $5 WHERE id = $4")
    assert arglists == [([1, 2], 1, "one", 7, 8)]


def test_the_text_depends_on_the_shapes_not_on_the_number_of_rows_or_their_order() -> None:
    one = plan([("k1", [(B, (1, "x"))]), ("k2", [(A, (1,))])], BULK)
    many = plan([(f"c{n}", [(A, (n,))]) for n in range(5)] + [("k1", [(B, (1, "x"))])], BULK)
    assert one[0][0] == many[0][0]
    assert many[0][1] == [([0, 1, 2, 3, 4], 1, "x")]


def test_each_keys_second_write_goes_to_the_next_round() -> None:
    writes = [("k1", [(A, (1,))]), ("k1", [(C, (1, 2))]), ("k2", [(A, (3,))]), (None, [(C, (4, 5))])]
    steps = plan(writes, BULK)
    assert steps == [("WITH s0 AS (INSERT INTO a (n) SELECT * FROM unnest($1::int[])) "
                      "UPDATE c SET n = $3 WHERE id = $2", [([1, 3], 4, 5)]),
                     (C, [(1, 2)])]


def test_a_round_that_cannot_be_one_statement_keeps_the_order_of_each_write() -> None:
    # C twice without a bulk form: the round runs statement by statement, shape by shape, column
    # by column, equal SQL in a row as one executemany
    writes = [("k1", [(A, (1,)), (C, (1, 1))]), ("k2", [(C, (2, 2))]), ("k3", [(A, (3,)), (C, (3, 3))]),
              ("k1", [(B, (9, "nine"))])]
    assert plan(writes, BULK) == [(A, [(1,), (3,)]), (C, [(1, 1), (3, 3), (2, 2)]), (B, [(9, "nine")])]


def test_a_write_that_must_see_its_own_earlier_statement_is_never_joined() -> None:
    insert_then_update = [("INSERT INTO c (id, n) VALUES ($1, 0)", (1,)), (C, (1, 5))]
    assert ordered(insert_then_update)
    assert not ordered([(A, (1,)), (A, (2,)), (B, (1, "x"))])        # only new rows: independent
    assert ordered([("WITH x AS (SELECT 1) SELECT 1", ()), (A, (1,))])   # unknown: keep the order
    assert plan([("k", insert_then_update), ("j", [(A, (4,))])], BULK) == [
        ("INSERT INTO c (id, n) VALUES ($1, 0)", [(1,)]), (C, [(1, 5)]), (A, [(4,)])]


def test_a_statement_that_is_itself_a_with_is_not_nested() -> None:
    with_sql = "WITH x AS (INSERT INTO a (n) VALUES ($1)) INSERT INTO b (n, note) VALUES ($1, 'w')"
    assert plan([("k1", [(with_sql, (1,))]), ("k2", [(B, (2, "y"))])], BULK) == [
        (with_sql, [(1,)]), (B, [(2, "y")])]


def test_bulk_form_sends_lists_inside_rows_as_json_text() -> None:
    form = Bulk("INSERT INTO j (id, doc) SELECT i, d::jsonb FROM unnest($1::int[], $2::text[]) AS r(i, d)", json=(1,))
    assert form.statement([(1, [{"a": 1}]), (2, None), (3, [])]) == (form.sql, ([1, 2, 3], ['[{"a":1}]', None, "[]"]))
