"""Live overview: queues, waiting chats (longest first), agents and pending offers, from the database
(a queue's opening status alone: tests/unit/dashboard/test_overview.py)."""

from __future__ import annotations

from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts  # noqa: F401  (fixtures)


def test_overview_shows_queues_waiting_chats_agents_and_offers(dashboard_env: Seed) -> None:
    seed = dashboard_env
    older = seed.sql("SELECT id FROM conversations WHERE id = %s", seed.c_queued)[0][0]
    assert older
    # a second waiting chat that has waited longer must come first
    seed.sql("INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, created_at) "
             "VALUES (gen_random_uuid(), 'sales', 'queued', 'Wanda Waitlong', 'w@example.com', 9, "
             "now() - interval '20 minutes')")
    at = signed_in(seed)
    assert [t.value for t in at.title] == ["Live overview"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Chats waiting"] == "2"
    assert metrics["Longest wait"].startswith("20m")
    assert metrics["Agents available"] == "2" and metrics["Agents away"] == "1" and metrics["Agents offline"] == "1"
    assert metrics["Pending offers"] == "1"

    queues = at.dataframe[0].value.set_index("Queue")
    assert queues.loc["support", "Waiting"] == 1 and queues.loc["sales", "Waiting"] == 1
    assert queues.loc["after-hours", "Status"].startswith("🔴 closed")
    assert queues.loc["support", "Status"].startswith("🟢 open")
    assert queues.loc["support", "Pending offers"] == 1

    waiting = at.dataframe[1].value
    assert list(waiting["Customer"].str.split(" <").str[0]) == ["Wanda Waitlong", "Quentin Queue"]
    assert list(waiting["Offered to"]) == ["—", "Agent One"]
    assert "refund for invoice 99" in waiting["Question"].iloc[1]

    agents = at.dataframe[2].value.set_index("Agent")
    assert agents.loc["Agent One", "State"] == "🟢 available" and agents.loc["Agent One", "Load"] == "1 / 3"
    assert agents.loc["Agent Two", "State"] == "🟡 away"
    assert agents.loc["Agent Three", "Load"] == "1 / 3"
    assert agents.loc["Agent Four", "State"] == "⚫ offline"  # no agent_status row: never seen by the engine

    offers = at.dataframe[3].value
    assert list(offers["Agent"]) == ["Agent One"] and list(offers["Customer"]) == ["Quentin Queue"]
    assert "refreshes every" in texts(at)


def test_overview_warns_of_conversations_the_engine_stopped_serving(dashboard_env: Seed) -> None:
    seed = dashboard_env
    seed.sql("UPDATE conversations SET parked_at = now() WHERE id = %s", seed.c_queued)
    at = signed_in(seed)
    assert [e.value for e in at.error] and "1 conversation(s) stopped after repeated engine errors" in at.error[0].value
    parked = at.dataframe[0].value
    assert list(parked["Conversation"]) == [str(seed.c_queued)]
    assert parked["Customer"].iloc[0].startswith("Quentin Queue")


def test_overview_shows_no_warning_while_every_conversation_is_served(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env)
    assert not at.error


def test_the_load_bar_is_green_below_half_the_capacity_not_the_alarm_red(dashboard_env: Seed) -> None:
    import json

    at = signed_in(dashboard_env)
    agents = at.dataframe[2]
    config = json.loads(agents.proto.columns)
    assert config["Used"]["type_config"]["color"] == "auto-inverse"
    assert agents.value.set_index("Agent").loc["Agent One", "Used"] == 33
