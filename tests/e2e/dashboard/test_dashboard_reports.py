"""Reports render plots and CSV exports from the data; the service level follows the chosen N;
first-response time, handling time per agent and occupancy come from the seeded chats and presence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts, widget  # noqa: F401  (fixtures)


def test_report_page_renders_plots_tables_and_csv_exports(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "reports.py")
    assert not at.error, [e.value for e in at.error]
    charts = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 9
    assert any("hour of day" in c for c in charts) and any("seconds until an agent accepted" in c for c in charts)
    csv_buttons = [b for b in at.get("download_button") if b.key and b.key.startswith("csv_")]
    assert len(csv_buttons) == 9
    metrics = {m.label: m.value for m in at.metric}
    # two chats stopped waiting in the last 30 days (the ended and the active one); both accepted,
    # after 40 s and 20 s
    assert metrics["Chats (no longer waiting)"] == "2"
    assert metrics["Service level (60 s)"] == "100.0%"
    widget(at.number_input, "rep_within").set_value(30).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Service level (30 s)"] == "50.0%"

    page = texts(at)
    assert "3 chats started in the period" in page
    outcomes = at.dataframe[3].value.set_index("agent")
    assert outcomes.loc["Agent One", "accepted"] == 1 and outcomes.loc["Agent Two", "rejected"] == 1
    assert outcomes.loc["Agent One", "pending"] == 1
    handling = at.dataframe[4].value.set_index("agent")
    assert handling.loc["Agent One", "chats"] == 1 and handling.loc["Agent One", "median (min)"] == 9.3
    offline = at.dataframe[6].value
    assert sorted(offline["queue"]) == ["sales", "support"]


def test_first_response_handling_and_occupancy_follow_the_seeded_shift(dashboard_env: Seed) -> None:
    seed = dashboard_env
    a1 = seed.staff["agent1@demo.test"]
    came = seed.sql("SELECT created_at FROM conversations WHERE id = %s", seed.c_ended)[0][0]
    seed.sql("DELETE FROM presence_log WHERE agent_id = %s", a1)
    # available 10 minutes before the ended chat came, offline 20 minutes after: 30 minutes staffed,
    # of which the chat (40 s → 10 min after it came) took 9 min 20 s
    seed.sql("INSERT INTO presence_log (agent_id, state, by, at) VALUES (%s, 'available', 'system', %s), "
             "(%s, 'offline', 'system', %s)", a1, came - timedelta(minutes=10), a1,
             came + timedelta(minutes=20))
    at = signed_in(seed, "reports.py")
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    # first replies after 50 s (ended chat) and 30 s (active chat); the queued chat has none yet
    assert metrics["Answered within 60 s"] == "66.7%"
    assert metrics["Not answered (yet)"] == "1"
    widget(at.number_input, "rep_respond").set_value(45).run()
    assert {m.label: m.value for m in at.metric}["Answered within 45 s"] == "33.3%"
    per_queue = at.dataframe[1].value.set_index("Queue")
    assert per_queue.loc["all queues", "Median (s)"] == 40.0 and per_queue.loc["support", "Answered"] == 1
    per_agent = at.dataframe[2].value.set_index("Agent")
    assert per_agent.loc["Agent One", "Median (s)"] == 50.0 and per_agent.loc["Agent Three", "Median (s)"] == 30.0

    occupancy = at.dataframe[5].value.set_index("agent")
    assert occupancy.loc["Agent One", "staffed (h)"] == 0.5
    assert occupancy.loc["Agent One", "occupancy"] == round(560 / 1800, 3)
    assert occupancy.loc["Agent One", "slot use"] == round(560 / (1800 * 3), 3)
    page = texts(at)
    assert "Occupancy = time in at least one chat ÷ staffed time." in page
    assert "first public agent reply" in page
    charts = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any("seconds to the first public reply" in c for c in charts) and any("hours staffed" in c for c in charts)
    keys = {b.key for b in at.get("download_button")}
    assert {"csv_first_response_per_queue", "csv_first_response_per_agent", "csv_agent_occupancy"} <= keys


def test_a_period_without_chats_shows_empty_states(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "reports.py")
    long_ago = datetime.now(UTC).date() - timedelta(days=3650)
    widget(at.date_input, "rep_from").set_value(long_ago).run()
    widget(at.date_input, "rep_to").set_value(long_ago + timedelta(days=1)).run()
    assert not at.error, [e.value for e in at.error]
    page = texts(at)
    assert "No conversation got a public agent reply in this period." in page
    assert "No finished chats in this period." in page
    assert "No agent was available or chatting in this period." in page
    assert len(at.get("vega_lite_chart")) == 1      # the hours grid, all zero


def test_without_transfers_the_transfers_section_says_so(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "reports.py")
    assert "Transfers" in [h.value for h in at.header]
    assert "No transfers in this period." in [i.value for i in at.info]


def test_transfers_are_counted_by_who_handed_over_to_whom_with_their_outcomes(dashboard_env: Seed) -> None:
    seed = dashboard_env
    a1, a2, a3 = (seed.staff[f"agent{n}@demo.test"] for n in (1, 2, 3))
    now = datetime.now(UTC)
    for to_agent, to_queue, status, conversation in ((a2, None, "accepted", seed.c_ended),
                                                     (a2, None, "declined", seed.c_ended),
                                                     (None, "sales", "expired", seed.c_ended),
                                                     (a1, None, "accepted", seed.c_active)):
        giver = a3 if conversation == seed.c_active else a1
        seed.sql("INSERT INTO transfers (id, conversation_id, from_agent_id, to_agent_id, to_queue, status, "
                 "created_at, decided_at) VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s)",
                 conversation, giver, to_agent, to_queue, status, now - timedelta(minutes=30), now)
    at = signed_in(seed, "reports.py")
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Transfers asked for"] == "4" and metrics["Accepted"] == "50%"
    assert metrics["Declined or expired"] == "2"
    table = next(d.value for d in at.dataframe if "accepted share" in d.value.columns)
    rows = {(r["from"], r["to"]): (r["asked"], r["accepted"], r["declined"], r["expired"])
            for _, r in table.iterrows()}
    assert rows == {("Agent One", "Agent Two"): (2, 1, 1, 0), ("Agent One", "queue sales"): (1, 0, 0, 1),
                    ("Agent Three", "Agent One"): (1, 1, 0, 0)}
    assert "csv_transfers" in [b.key for b in at.get("download_button")]
    # a queue filter keeps the transfers of that queue's conversations
    widget(at.multiselect, "rep_queues").select("sales").run()
    table = next(d.value for d in at.dataframe if "accepted share" in d.value.columns)
    assert list(table["from"]) == ["Agent Three"]


def test_a_chat_that_went_back_to_the_queue_is_credited_to_the_agent_who_handled_it(dashboard_env: Seed) -> None:
    """An owner who signs out sends the chat back to the queue (``owner_id`` cleared); when the
    customer then leaves, the chat ended accepted and ownerless: it still counts for that agent,
    and a first reply whose sender is no staff row (a mail from an unknown address) by its name."""
    import psycopg
    from psycopg.rows import dict_row

    from frontdesk.dashboard import db

    seed = dashboard_env
    a2 = seed.staff["agent2@demo.test"]
    t0 = datetime.now(UTC) - timedelta(hours=3)
    cid = seed.sql("INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, "
                   "created_at, accepted_at, ended_at, ended_by, end_reason) VALUES (gen_random_uuid(), 'support', "
                   "'ended', 'Rita Requeued', 'rita@example.com', 11, %s, %s, %s, 'customer', 'left') RETURNING id",
                   t0, t0 + timedelta(seconds=10), t0 + timedelta(minutes=6))[0][0]
    seed.sql("INSERT INTO participants (conversation_id, agent_id, role, joined_at, left_at) "
             "VALUES (%s, %s, 'owner', %s, %s)", cid, a2, t0 + timedelta(seconds=10), t0 + timedelta(minutes=4))
    seed.sql("INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, text, "
             "created_at) VALUES (gen_random_uuid(), %s, 1, 'customer', NULL, 'Rita', 'customer', 'hi', %s), "
             "(gen_random_uuid(), %s, 2, 'agent', NULL, 'Mail Desk', 'agent:desk@shop.test', 'hello', %s)",
             cid, t0, cid, t0 + timedelta(seconds=20))
    period = db.Period(t0 - timedelta(days=3), t0 + timedelta(days=1))
    with psycopg.connect(seed.url, autocommit=True, row_factory=dict_row) as conn:
        handled = {r["agent"]: int(r["chats"]) for r in db.handling_time_by_agent(conn, period)}
        first = {r["agent"] for r in db.first_response_by_agent(conn, period)}
    assert handled == {"Agent One": 1, "Agent Two": 1}
    assert "(unknown)" not in first and "Mail Desk" in first
    at = signed_in(seed, "reports.py")
    assert "(unknown)" not in set(at.dataframe[2].value["Agent"]) | set(at.dataframe[4].value["agent"])
