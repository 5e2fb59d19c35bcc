"""Offline requests: list, filter, read, mark handled by the signed-in supervisor."""

from __future__ import annotations

from dashkit import Seed, dashboard_env_fixture, seed_fixture, signed_in, texts, widget  # noqa: F401  (fixtures)
from streamlit.testing.v1 import AppTest

from frontdesk.dashboard import offline


def names(at: AppTest) -> list[str]:
    return sorted(at.dataframe[0].value["Name"]) if at.dataframe else []


def test_requests_are_listed_and_filtered(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "offline.py")
    assert [t.value for t in at.title] == ["Offline requests"]
    assert names(at) == ["Olga Open"]                       # open ones by default
    widget(at.selectbox, "off_status").select_index(2).run()  # "All"
    assert names(at) == ["Hugo Handled", "Olga Open"]
    widget(at.multiselect, "off_queues").select("sales").run()
    assert names(at) == ["Hugo Handled"]
    assert at.dataframe[0].value["Handled by"].tolist() == ["Agent Three"]
    widget(at.multiselect, "off_queues").unselect("sales").run()
    widget(at.text_input, "off_text").input("refund").run()
    assert names(at) == ["Olga Open"]
    number = at.dataframe[0].value["Request"].iloc[0]
    widget(at.text_input, "off_text").input(number).run()   # by its REQ-number
    assert names(at) == ["Olga Open"]
    widget(at.text_input, "off_text").input("nothing like this").run()
    assert "No offline request matches these filters." in texts(at)


def test_supervisor_reads_and_marks_a_request_handled(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = signed_in(seed, "offline.py")
    at.session_state[offline.OPEN_KEY] = seed.r_open
    at.run()
    page = texts(at)
    assert "Please call me back about my refund." in [t.value for t in at.text]
    assert "Open — nobody has answered it yet." in page
    widget(at.button, "off_mark_handled").click().run()
    assert not at.exception
    status, handled_by = seed.sql("SELECT status, handled_by::text FROM offline_requests WHERE id = %s", seed.r_open)[0]
    assert status == "handled" and handled_by == seed.staff["supervisor@demo.test"]
    assert "Handled by Supervisor" in texts(at)
    assert "marked handled." in texts(at)
    assert names(at) == []                                  # no open request left
