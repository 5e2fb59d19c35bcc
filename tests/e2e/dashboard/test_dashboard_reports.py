"""Reports render plots and CSV exports from the data; the service level follows the chosen N."""

from __future__ import annotations

from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts, widget  # noqa: F401  (fixtures)


def test_report_page_renders_plots_tables_and_csv_exports(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "reports.py")
    assert not at.error, [e.value for e in at.error]
    charts = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 6
    assert any("hour of day" in c for c in charts) and any("seconds until an agent accepted" in c for c in charts)
    csv_buttons = [b for b in at.get("download_button") if b.key and b.key.startswith("csv_")]
    assert len(csv_buttons) == 6
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
    outcomes = at.dataframe[1].value.set_index("agent")
    assert outcomes.loc["Agent One", "accepted"] == 1 and outcomes.loc["Agent Two", "rejected"] == 1
    assert outcomes.loc["Agent One", "pending"] == 1
    handling = at.dataframe[2].value.set_index("agent")
    assert handling.loc["Agent One", "chats"] == 1 and handling.loc["Agent One", "median (min)"] == 9.3
    offline = at.dataframe[3].value
    assert sorted(offline["queue"]) == ["sales", "support"]
