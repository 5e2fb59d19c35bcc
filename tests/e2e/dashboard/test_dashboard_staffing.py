"""The staffing forecast page: agents needed per hour of the week beside the agents that were there,
from the seeded chats and presence; the inputs change the forecast; an empty period says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts, widget  # noqa: F401  (fixtures)


def _slot_of(seed: Seed) -> tuple[datetime, str, int]:
    came = seed.sql("SELECT created_at FROM conversations WHERE id = %s", seed.c_ended)[0][0]
    return came, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][came.weekday()], came.hour


def test_forecast_shows_agents_needed_beside_agents_present_with_csv(dashboard_env: Seed) -> None:
    seed = dashboard_env
    came, day, hour = _slot_of(seed)
    a1 = seed.staff["agent1@demo.test"]
    seed.sql("DELETE FROM presence_log WHERE agent_id = %s", a1)
    # agent1 available for the whole hour the ended chat came in
    start = came.replace(minute=0, second=0, microsecond=0)
    seed.sql("INSERT INTO presence_log (agent_id, state, by, at) VALUES (%s, 'available', 'agent', %s), "
             "(%s, 'away', 'agent', %s)", a1, start, a1, start + timedelta(hours=1))
    at = signed_in(seed, "staffing.py")
    widget(at.selectbox, "fc_tz").set_value("UTC").run()
    assert not at.error, [e.value for e in at.error]
    assert "servers = agents × capacity" in texts(at)
    assert len(at.get("vega_lite_chart")) == 1
    assert any(b.key == "csv_staffing_forecast_per_hour_of_week" for b in at.get("download_button"))
    week = at.dataframe[0].value
    assert len(week) == 168
    row = week[(week["day"] == day) & (week["hour"] == hour)].iloc[0]
    # one chat in the four such hours of 28 days; one agent there for one of them
    assert row["chats per hour"] == 0.25 and row["agents present"] == 0.25
    assert row["handling (min)"] == round(560 / 60, 2) and row["agents needed"] == 1

    widget(at.selectbox, "fc_day").set_value(day).run()
    assert len(at.dataframe[0].value) == 24
    widget(at.number_input, "fc_capacity").set_value(1).run()
    widget(at.number_input, "fc_goal").set_value(99).run()
    widget(at.number_input, "fc_target").set_value(1).run()
    tight = at.dataframe[0].value.set_index("hour").loc[hour]
    assert tight["agents needed"] >= 2 and tight["service level needed"] >= 0.99


def test_a_period_without_finished_chats_says_there_is_nothing_to_forecast(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "staffing.py")
    long_ago = datetime.now(UTC).date() - timedelta(days=3650)
    widget(at.date_input, "fc_from").set_value(long_ago).run()
    widget(at.date_input, "fc_to").set_value(long_ago + timedelta(days=6)).run()
    assert not at.error, [e.value for e in at.error]
    assert "there is no handling time to forecast from" in texts(at)
    assert not at.get("vega_lite_chart")
