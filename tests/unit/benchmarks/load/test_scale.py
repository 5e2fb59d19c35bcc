"""The scale scenario's own logic (benchmarks/load/scale*.py): what each seeded conversation is,
which ones each phase uses, when starts are due, how its agents answer offers, and how its table
judges the figures. No database, no engine."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

import orjson
import pytest
import trio

from benchmarks.load.config import from_scenario
from benchmarks.load.scale import WAKE_ROUNDS, picks_needed, schedule
from benchmarks.load.scale_agents import ScaleAgents, reopen_token
from benchmarks.load.scale_report import rows
from benchmarks.load.scale_seed import SeedPlan, conversation_id, customer_id, pick, statements
from benchmarks.load.scale_signin import code_in
from benchmarks.load.stats import Recorder
from benchmarks.load.traffic import Plan, message_text


def test_seeded_ids_are_uuids_that_name_their_number() -> None:
    ids = {conversation_id(g) for g in (0, 1, 99_999, 2**40)}
    assert len(ids) == 4 and all(str(uuid.UUID(i)) == i for i in ids)
    assert conversation_id(255).endswith("0000000000ff") and customer_id(255).endswith("0000000000ff")
    assert conversation_id(7) != customer_id(7)


def test_every_conversation_has_one_customer_and_customers_share_them_evenly() -> None:
    plan = SeedPlan(conversations=100_003, customers=20_000)
    assert sum(plan.conversations_of(i) for i in range(plan.customers)) == plan.conversations
    assert {plan.conversations_of(i) for i in range(plan.customers)} == {5, 6}
    assert all(plan.customer_of(g) == g % 20_000 for g in (0, 19_999, 20_000, 100_002))
    assert {plan.messages_of(g) for g in range(8)} == {3, 4, 5, 6}
    assert [plan.status_of(g) for g in range(3)] == ["resolved", "pending", "pending"]


def test_the_seed_sql_writes_the_plan_without_parameters() -> None:
    sql = statements(SeedPlan(1000, 200), owners=7)
    assert list(sql) == ["customers", "conversations", "participants", "messages"]
    assert all("$" not in text for text in sql.values())          # counts are written into the text
    assert "generate_series(0, 999) g" in sql["conversations"] and "generate_series(0, 199) i" in sql["customers"]
    assert "o.k = g % 7" in sql["messages"]
    # the Python plan's formulas are the SQL's
    assert "(3 + g % 4)" in sql["messages"] and "g % 3 = 0 THEN 'resolved'" in sql["conversations"]
    assert "(g % 200)" in sql["conversations"]


def test_phases_get_disjoint_picks_and_reopenings_only_pending_ones() -> None:
    plan = SeedPlan(3000, 600)
    picks = pick(plan, random.Random(3), 100, 500, 400, 50)
    used = picks.open + picks.reopen + picks.wake
    assert len(used) == len(set(used)) == 1000
    assert all(plan.status_of(g) == "pending" for g in picks.reopen)
    assert len(set(picks.accounts)) == 50 and all(0 <= i < 600 for i in picks.accounts)
    assert pick(plan, random.Random(3), 100, 500, 400, 50) == picks      # the run's seed decides
    with pytest.raises(ValueError):
        pick(plan, random.Random(3), 0, 2001, 0, 0)                        # only 2,000 are pending


def test_the_reopenings_picked_cover_a_poisson_run_with_margin() -> None:
    cfg = from_scenario("scale", {})
    probes, reopen, wake, accounts = picks_needed(cfg)
    expected = cfg.rate * (cfg.warmup_s + cfg.duration_s)
    assert reopen > expected + 5 * expected ** 0.5
    assert wake == cfg.sockets * WAKE_ROUNDS and probes == accounts > 0
    assert sum(picks_needed(cfg)[:3]) < cfg.seed_conversations * 2 // 3      # fit among the pending ones


def test_starts_are_evenly_spaced_or_poisson_and_stay_in_the_window() -> None:
    even = schedule(random.Random(1), 10.0, 100.0, 102.0, poisson=False)
    assert len(even) == 19 and even[0] == pytest.approx(100.1) and even[-1] < 102.0
    arrivals = schedule(random.Random(1), 200.0, 0.0, 50.0, poisson=True)
    assert 9_500 < len(arrivals) < 10_500 and arrivals == sorted(arrivals) and 0 < arrivals[0] and arrivals[-1] < 50
    assert schedule(random.Random(1), 0.0, 0.0, 10.0, poisson=True) == []


class Socket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, text: str) -> None:
        self.sent.append(orjson.loads(text))


async def test_agents_time_a_reopenings_offer_accept_it_and_set_the_conversation_pending() -> None:
    rec = Recorder("engine", origin=0.0)
    rec.open_window(0.0, 1e9)
    world = ScaleAgents("http://127.0.0.1:1", Plan.of(from_scenario("scale", {})), rec, random.Random(1), 40)
    ws, agent = Socket(), None
    token = reopen_token(7)
    sent_at = trio.current_time()
    rec.expect("reopen_offer", token, sent_at)
    await world._agent_event(agent, ws, {"type": "offer", "offer_id": "o-1", "conversation_id": "c-1",  # type: ignore[arg-type]
                                          "question": message_text(token, 40)}, sent_at + 0.025)
    assert ws.sent == [{"type": "accept", "offer_id": "o-1"}]
    assert rec.paths["reopen_offer"].summary()["count"] == 1
    assert rec.paths["reopen_offer"].samples_ms[0] == pytest.approx(25.0)
    await world._agent_event(agent, ws, {"type": "conversation", "conversation_id": "c-1",  # type: ignore[arg-type]
                                          "status": "open"}, sent_at + 0.05)
    assert ws.sent[-1] == {"type": "set_status", "conversation_id": "c-1", "status": "pending"}
    # a new chat's offer is EngineWorld's own (matched by its question), never a reopening
    await world._agent_event(agent, ws, {"type": "offer", "offer_id": "o-2", "conversation_id": "c-2",  # type: ignore[arg-type]
                                          "question": message_text("q3", 40)}, sent_at + 0.1)
    assert rec.paths["reopen_offer"].summary()["count"] == 1 and not rec.errors


def _path(title: str, p50: float, p99: float) -> dict[str, Any]:
    return {"title": title, "count": 100, "p50_ms": p50, "p99_ms": p99, "p99_9_ms": p99 * 1.2}


def test_the_table_puts_each_path_beside_its_floor_and_judges_the_targets() -> None:
    report = {"targets": {"engine": {"extra": {"my_conversations_http": "not served by this engine"}, "paths": {
        "open_welcome": _path("open", 10.0, 60.0), "pong": _path("pong", 2.0, 5.0),
        "account_welcome": _path("account", 8.0, 30.0),
        "reopen_offer": _path("reopen", 33.0, 90.0), "offer": _path("new", 30.0, 80.0)}}}}
    table = {row[0]: row for row in rows(report)}
    assert table["open"][5:] == ["pong 2.00", "5.00", "p99 < 50 ms ✗"]
    assert table["account"][7] == "p99 < 50 ms ✓"
    assert table["reopen"][6:] == ["1.10", "p50 ≤ 1.2 × new ✓"]
    assert table["GET /api/customers/me/conversations"][7] == "not served by this engine"


def test_the_sign_in_code_is_read_from_the_mail() -> None:
    assert code_in("Your code: 048213\\nIt is valid for 10 minutes.") == "048213"
    assert code_in("Ihr Code lautet 12345678.") == "12345678"
    assert code_in("valid for 10 minutes") is None
    assert re.fullmatch(r"\d+", code_in("code 1234567") or "")
