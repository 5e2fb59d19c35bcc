"""Opening hours end to end: closed queues answer ``closed`` with the queue's message and
``next_open``, nobody online is ``no_agents`` (an away agent counts as online), a chat that is
already waiting when its queue closes is still served, unknown queues are 404, and a malformed
schedule in the database stops ``frontdesk serve`` at start with an error naming queue and field.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
import trio
from conftest import (
    Engine,
    Postgres,
    accept_next,
    agent,
    connect,
    make_config,
    queue_settings_change,
    running_engine,
)

from frontdesk.core import hours
from frontdesk.engine.storage import demo

BERLIN = ZoneInfo("Europe/Berlin")
CHAT = {"name": "Cora Customer", "email": "cora@example.com", "question": "Can I still order today?"}
CLOSED_MESSAGE = {name: message for name, _title, _hours, _faq, _secret, message in demo.QUEUES}
FRONTDESK = Path(sys.executable).with_name("frontdesk")


async def psql(postgres: Postgres, database_url: str, sql: str) -> str:
    """Run ``sql`` in this test's own database (its name is the path of ``database_url``)."""
    name = urlsplit(database_url).path.lstrip("/")
    script = f"\\set QUIET on\n\\set ON_ERROR_STOP on\n\\c {name}\n{sql}\n"
    return await trio.to_thread.run_sync(postgres.psql, script)


async def set_opening_hours(postgres: Postgres, database_url: str, queue: str, schedule: dict[str, Any]) -> None:
    await psql(postgres, database_url,
               f"UPDATE queues SET opening_hours = '{json.dumps(schedule)}'::jsonb WHERE name = '{queue}';")


def closed_now(now: datetime) -> dict[str, Any]:
    """A Berlin weekly schedule that is closed at ``now``: today's opening ended an hour ago
    (when today has room for one), and tomorrow it opens 09:00-17:00."""
    local = now.astimezone(BERLIN)
    today, tomorrow = local.date(), local.date() + timedelta(days=1)
    weekly = {hours.DAY_NAMES[tomorrow.weekday()]: [["09:00", "17:00"]]}
    ended = local - timedelta(hours=1)
    if ended.date() == today and (ended.hour, ended.minute) != (0, 0):
        weekly[hours.DAY_NAMES[today.weekday()]] = [["00:00", f"{ended.hour:02d}:{ended.minute:02d}"]]
    schedule = {"timezone": "Europe/Berlin", "weekly": weekly}
    assert not hours.is_open(hours.parse_schedule(schedule), now)
    return schedule


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


async def post_chat(engine: Engine, queue: str) -> httpx.Response:
    async with engine.http() as http:
        return await http.post("/api/chats", json={**CHAT, "queue": queue})


async def queue_state(engine: Engine, queue: str) -> dict[str, Any]:
    async with engine.http() as http:
        r = await http.get(f"/api/queues/{queue}")
    assert r.status_code == 200, r.text
    return dict(r.json())


# ---- closed outside opening hours --------------------------------------------------------------

def holiday_today(now: datetime) -> dict[str, Any]:
    """Open around the clock every day, but today (in Berlin) is a holiday."""
    today = now.astimezone(BERLIN).date()
    schedule = {"timezone": "Europe/Berlin", "weekly": {day: [["00:00", "24:00"]] for day in hours.DAY_NAMES},
                "holidays": [today.isoformat()]}
    assert not hours.is_open(hours.parse_schedule(schedule), now)  # yesterday's interval ends at midnight
    return schedule


@pytest.mark.parametrize("make_schedule", [pytest.param(closed_now, id="opening-ended-an-hour-ago"),
                                           pytest.param(holiday_today, id="holiday-today")])
async def test_chat_outside_opening_hours_is_closed_with_the_queue_message_and_next_open(
        postgres: Postgres, database_url: str, data_dir: Path, make_schedule: Any) -> None:
    now = datetime.now(UTC)
    schedule = make_schedule(now)
    expected_next_open = hours.next_open(hours.parse_schedule(schedule), now)
    assert expected_next_open is not None and expected_next_open > now
    await set_opening_hours(postgres, database_url, "sales", schedule)
    async with running_engine(make_config(database_url, data_dir)) as engine:
        async with agent(engine, 4):  # a sales agent is online: the hours alone close the queue
            r = await post_chat(engine, "sales")
            state = await queue_state(engine, "sales")
            other = await queue_state(engine, "support")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"status": "closed", "reason": "outside_hours", "message": CLOSED_MESSAGE["sales"],
                    "next_open": body["next_open"], "offline_requests": True}
    assert parse_time(body["next_open"]) == expected_next_open
    assert state["open"] is False and parse_time(state["next_open"]) == expected_next_open
    assert state["agents_online"] == 1 and state["waiting"] == 0
    assert other["open"] is True and other["next_open"] is None  # other queues keep their own hours


async def test_never_open_queue_is_closed_outside_hours_without_next_open(engine: Engine) -> None:
    async with agent(engine, 1):  # agent1 is a member of after-hours
        r = await post_chat(engine, "after-hours")
        state = await queue_state(engine, "after-hours")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["reason"], body["next_open"]) == ("closed", "outside_hours", None)
    assert body["message"] == CLOSED_MESSAGE["after-hours"]
    assert state["open"] is False and state["next_open"] is None


@pytest.mark.parametrize(("method", "path", "body"), [
    pytest.param("GET", "/api/queues/no-such-queue", None, id="queue"),
    pytest.param("POST", "/api/chats", {**CHAT, "queue": "no-such-queue"}, id="chat"),
    pytest.param("POST", "/api/offline-requests", {**CHAT, "queue": "no-such-queue"}, id="offline-request"),
    pytest.param("GET", "/api/faq?queue=no-such-queue&q=password", None, id="faq"),
])
async def test_unknown_queue_is_404(engine: Engine, method: str, path: str, body: dict[str, Any] | None) -> None:
    async with engine.http() as http:
        r = await http.request(method, path, json=body)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


# ---- nobody online ------------------------------------------------------------------------------

async def test_chat_with_no_member_agent_online_is_closed_with_reason_no_agents(engine: Engine) -> None:
    async with agent(engine, 4):  # online, but only in sales
        r = await post_chat(engine, "support")
        state = await queue_state(engine, "support")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"status": "closed", "reason": "no_agents", "message": CLOSED_MESSAGE["support"],
                    "next_open": None, "offline_requests": True}
    assert state["open"] is True and state["agents_online"] == 0 and state["waiting"] == 0


async def test_away_agent_counts_as_online_so_the_chat_queues(engine: Engine) -> None:
    async with agent(engine, 4, presence="away") as a4:
        r = await post_chat(engine, "sales")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "queued" and body["position"] == 1
        assert (await queue_state(engine, "sales"))["waiting"] == 1
        offers = [f for f in await a4.drain(0.5) if f["type"] == "offer"]
        assert offers == []  # away: it waits for the agent rather than being offered


# ---- closing does not drop waiting chats -------------------------------------------------------

async def test_chat_waiting_when_the_queue_closes_stays_queued_and_is_served(
        engine: Engine, postgres: Postgres, database_url: str) -> None:
    async with agent(engine, 4, presence="away") as a4:
        r = await post_chat(engine, "sales")
        assert r.status_code == 201, r.text
        waiting = r.json()
        async with queue_settings_change(engine):
            await set_opening_hours(postgres, database_url, "sales", {"never": True})
        refused = await post_chat(engine, "sales")
        assert refused.status_code == 200 and refused.json()["reason"] == "outside_hours"
        state = await queue_state(engine, "sales")
        assert state["open"] is False and state["waiting"] == 1
        async with connect(engine, waiting["customer_token"], "customer") as cu:
            assert cu.info["conversation"]["status"] == "queued"
            await a4.send({"type": "presence", "state": "available"})
            await a4.expect("presence", state="available")
            conv = await accept_next(a4, waiting["conversation_id"])
            assert conv["messages"][0]["text"] == CHAT["question"]
            joined = await cu.expect("participant_joined", conversation_id=waiting["conversation_id"])
            assert joined["agent"]["id"] == a4.info["id"]


# ---- malformed schedules are refused at start ---------------------------------------------------

@pytest.mark.parametrize(("schedule", "field", "detail"), [
    pytest.param({"timezone": "Mars/Base", "weekly": {"mon": [["09:00", "17:00"]]}}, "timezone", "Mars/Base",
                 id="unknown-timezone"),
    pytest.param({"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "25:00"]]}}, "weekly.mon[0]", "25:00",
                 id="bad-time"),
])
async def test_serve_refuses_to_start_with_a_malformed_schedule(
        postgres: Postgres, database_url: str, tmp_path: Path, schedule: dict[str, Any], field: str,
        detail: str) -> None:
    await set_opening_hours(postgres, database_url, "sales", schedule)
    cmd = [str(FRONTDESK), "serve", "--database-url", database_url, "--port", "0", "--data-dir", str(tmp_path)]
    try:
        done = await trio.to_thread.run_sync(
            lambda: subprocess.run(cmd, capture_output=True, text=True, timeout=60))
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"frontdesk serve started (or hung) despite a malformed schedule: {exc.stdout!r}")
    assert done.returncode != 0
    assert "serving on" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert "'sales'" in last and f"opening_hours.{field}" in last and detail in last, done.stderr
