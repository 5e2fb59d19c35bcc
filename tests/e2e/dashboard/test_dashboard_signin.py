"""Sign-in: supervisors only; nothing else is shown or queried before it."""

from __future__ import annotations

from typing import Any

from dashkit import APP, Seed, app_test, dashboard_env_fixture, seed_fixture, texts, widget  # noqa: F401  (fixtures)
from streamlit.testing.v1 import AppTest

from frontdesk.dashboard import signin

PASSWORD = "demo-password"


def sign_in(email: str, password: str) -> AppTest:
    at = app_test().run()
    widget(at.text_input, "signin_email").input(email)
    widget(at.text_input, "signin_password").input(password)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_nothing_but_the_sign_in_form_before_sign_in(dashboard_env: Seed) -> None:
    at = app_test().run()
    assert [t.value for t in at.title] == ["🛎️ Frontdesk"]
    assert "Supervisor sign-in" in texts(at)
    assert len(at.dataframe) == 0 and len(at.metric) == 0
    assert "Live overview" not in texts(at)
    assert {e.key for e in at.text_input} == {"signin_email", "signin_password"}


def test_pages_refuse_to_render_without_a_supervisor(dashboard_env: Seed) -> None:
    # even run on its own, a page shows nothing but a request to sign in
    at = AppTest.from_file(str(APP.parent / "conversations.py"), default_timeout=60)
    at.run()
    assert len(at.dataframe) == 0
    assert [w.value for w in at.warning] == ["Please sign in."]


def test_wrong_password_is_refused(dashboard_env: Seed) -> None:
    at = sign_in("supervisor@demo.test", "not-the-password")
    assert [e.value for e in at.error] == [signin.WRONG_CREDENTIALS]
    assert "supervisor" not in at.session_state
    assert len(at.dataframe) == 0


def test_unknown_account_gets_the_same_answer(dashboard_env: Seed) -> None:
    at = sign_in("nobody@demo.test", PASSWORD)
    assert [e.value for e in at.error] == [signin.WRONG_CREDENTIALS]


def test_agent_account_is_refused(dashboard_env: Seed) -> None:
    at = sign_in("agent1@demo.test", PASSWORD)
    assert [e.value for e in at.error] == [signin.NOT_A_SUPERVISOR]
    assert "supervisor" not in at.session_state
    assert len(at.dataframe) == 0


def test_supervisor_signs_in_sees_the_live_overview_and_signs_out(dashboard_env: Seed) -> None:
    at = sign_in("Supervisor@Demo.test", PASSWORD)  # e-mail case does not matter
    who: Any = at.session_state["supervisor"]
    assert who["id"] == dashboard_env.staff["supervisor@demo.test"]
    assert [t.value for t in at.title] == ["Live overview"]
    assert len(at.error) == 0
    widget(at.button, "sign_out").click().run()
    assert "supervisor" not in at.session_state
    assert [t.value for t in at.title] == ["🛎️ Frontdesk"]


def test_a_database_without_the_schema_is_explained(dashboard_env: Seed) -> None:
    dashboard_env.sql("ALTER TABLE agent_status RENAME TO agent_status_gone")
    at = app_test().run()
    assert len(at.error) == 1 and "no Frontdesk schema yet (missing: agent_status)" in at.error[0].value
    assert not at.text_input                                # no sign-in form either
