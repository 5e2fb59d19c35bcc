"""Sign-in: supervisors only; nothing else is shown or queried before it."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from dashkit import (  # noqa: F401  (fixtures)
    APP,
    Seed,
    app_test,
    dashboard_env_fixture,
    seed_fixture,
    session_token,
    signed_in,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest

from frontdesk.dashboard import common, signin

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


def test_sign_in_stores_an_expiring_token_and_sign_out_revokes_it(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = sign_in("supervisor@demo.test", PASSWORD)
    token = at.session_state["session_token"]
    rows = seed.sql("SELECT kind, subject_id::text, expires_at - now() FROM tokens WHERE token_hash = %s",
                    hashlib.sha256(token.encode()).digest())
    assert [(kind, subject) for kind, subject, _ in rows] == [("supervisor", seed.staff["supervisor@demo.test"])]
    assert timedelta(hours=11) < rows[0][2] <= common.SESSION_TTL
    widget(at.button, "sign_out").click().run()
    assert seed.sql("SELECT count(*) FROM tokens WHERE token_hash = %s", hashlib.sha256(token.encode()).digest()) \
        == [(0,)]
    # the old token opens nothing any more
    again = app_test()
    again.session_state["session_token"] = token
    again.run()
    assert [t.value for t in again.title] == ["🛎️ Frontdesk"] and len(again.dataframe) == 0


def test_an_expired_or_unknown_token_shows_the_sign_in_form(dashboard_env: Seed) -> None:
    seed = dashboard_env
    token = session_token(seed)
    seed.sql("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE token_hash = %s",
             hashlib.sha256(token.encode()).digest())
    for value in (token, "made-up-token-of-some-length"):
        at = app_test()
        at.session_state["session_token"] = value
        at.run()
        assert "Supervisor sign-in" in texts(at) and len(at.dataframe) == 0
        assert "supervisor" not in at.session_state


def test_a_session_ends_on_the_next_run_when_its_token_is_revoked(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = signed_in(seed)
    assert [t.value for t in at.title] == ["Live overview"]
    seed.sql("DELETE FROM tokens WHERE kind = 'supervisor'")
    at.run()
    assert "Supervisor sign-in" in texts(at) and len(at.dataframe) == 0
