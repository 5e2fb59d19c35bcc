"""Administration pages (agents and supervisors, queues, audit log) driven with AppTest against a
real engine: each change goes through the engine's admin API, its refusals show the field by its
label, and what people typed is shown as text."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dashkit import (  # noqa: F401  (fixtures)
    Seed,
    dashboard_env_fixture,
    engine_for_dashboard_fixture,
    seed_fixture,
    shown,
    signed_in,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest


def click(at: AppTest, label: str, nth: int = 0) -> AppTest:
    [b for b in at.button if b.label == label][nth].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def table(at: Any, column: str) -> pd.DataFrame:
    """The first table with ``column``."""
    frame: pd.DataFrame = next(d.value for d in at.dataframe if column in d.value.columns)
    return frame


def errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_a_supervisor_creates_edits_disables_and_resets_an_agent(dashboard_env: Seed,
                                                                 engine_for_dashboard: str) -> None:
    at = signed_in(dashboard_env, "admin_agents.py")
    assert "agent1@demo.test" in set(table(at, "Open chats")["E-mail"])
    name = "**Nina** <img src=x> [link](http://127.0.0.1:1/)"
    widget(at.text_input, "new_agent_name").input(name)
    widget(at.text_input, "new_agent_email").input("nina@demo.test")
    widget(at.text_input, "new_agent_password").input("a-long-password")
    widget(at.multiselect, "new_agent_queues").select("sales")
    click(at, "Create")
    assert f"Agent {name} created." in shown(at.success[0].value)
    row = table(at, "Open chats").set_index("E-mail").loc["nina@demo.test"]
    assert row["Name"] == name and row["Queues"] == "sales" and row["Capacity"] == 3

    widget(at.text_input, "new_agent_name").input("Nina Again")
    widget(at.text_input, "new_agent_email").input("NINA@demo.test")
    widget(at.text_input, "new_agent_password").input("a-long-password")
    click(at, "Create")
    assert errors(at) == ["E-mail: another staff member has this e-mail address"]
    widget(at.text_input, "new_agent_email").input("other@demo.test")
    widget(at.text_input, "new_agent_password").input("short")
    click(at, "Create")
    assert errors(at) == ["Password: password must have at least 10 characters"]

    (nina,) = dashboard_env.sql("SELECT id::text FROM staff WHERE email = 'nina@demo.test'")
    widget(at.selectbox, "edit_agent_choice").select(nina[0]).run()
    widget(at.number_input, f"edit_agent_capacity_{nina[0]}").set_value(5)
    widget(at.checkbox, f"edit_agent_disabled_{nina[0]}").check()
    click(at, "Save changes")
    assert dashboard_env.sql("SELECT capacity, disabled_at IS NOT NULL FROM staff WHERE id = %s", nina[0]) == \
        [(5, True)]
    widget(at.text_input, f"reset_agent_password_{nina[0]}").input("another-long-password")
    click(at, "Reset password")
    assert "The password of" in shown(at.success[0].value)
    actions = [a for (a,) in dashboard_env.sql("SELECT action FROM audit_log ORDER BY at")]
    assert actions == ["agent.create", "agent.update", "agent.update"]


def test_supervisors_tab_creates_a_supervisor(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    at = signed_in(dashboard_env, "admin_agents.py")
    widget(at.text_input, "new_supervisor_name").input("Sam Second")
    widget(at.text_input, "new_supervisor_email").input("sam@demo.test")
    widget(at.text_input, "new_supervisor_password").input("a-long-password")
    click(at, "Create", 1)
    assert set(table(at.tabs[1], "E-mail")["E-mail"]) == {"supervisor@demo.test", "sam@demo.test"}


def test_queues_page_creates_changes_and_previews_a_queue(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    at = signed_in(dashboard_env, "admin_queues.py")
    assert list(table(at, "Queue")["Queue"]) == ["after-hours", "messages", "sales", "support"]
    widget(at.text_input, "new_queue_name").input("Billing Team")
    click(at, "Create")
    assert errors(at)[0].startswith("Name: name must be 1 to 63 lower-case letters")
    widget(at.text_input, "new_queue_name").input("billing")
    widget(at.text_input, "new_queue_title").input("Billing")
    click(at, "Create")
    assert "Queue billing created" in shown(at.success[0].value)

    widget(at.selectbox, "queue_choice").select("billing").run()
    agents = {email: i for email, i in dashboard_env.sql("SELECT email, id::text FROM staff WHERE role = 'agent'")}
    widget(at.multiselect, "q_members_billing").select(agents["agent4@demo.test"])
    widget(at.text_area, "q_required_billing").input("order_number\ncustomer_no")
    widget(at.toggle, "q_faq_billing").set_value(True)
    widget(at.toggle, "q_transcripts_billing").set_value(False)
    widget(at.text_input, "q_sender_billing").input("Billing team")
    widget(at.text_input, "q_secret_billing").input("short")
    click(at, "Save changes")
    assert errors(at) == ["Identity secret: identity_secret must be null or 16 to 256 characters without spaces "
                          "around them"]
    widget(at.text_input, "q_secret_billing").input("a-secret-of-twenty-chars")
    click(at, "Save changes")
    stored: list[tuple[Any, ...]] = dashboard_env.sql(
        "SELECT required_fields, faq_suggestions, transcript_mails, sender_name, identity_secret FROM queues "
        "WHERE name = 'billing'")
    assert stored == [(["order_number", "customer_no"], True, False, "Billing team", "a-secret-of-twenty-chars")]
    row = table(at, "Queue").set_index("Queue").loc["billing"]
    assert row["Members"] == "Agent Four" and row["Identity secret"] == "set"

    widget(at.radio, "q_tpl_lang_billing").set_value("de").run()
    widget(at.text_input, "q_tpl_billing_de_subject").input("Neue Antwort von {queue}")
    click(at, "Preview")
    assert "Subject: Neue Antwort von Billing" in [shown(c.value) for c in at.caption]
    assert "Your parcel left our warehouse today." in at.code[0].value
    click(at, "Save template")
    assert dashboard_env.sql("SELECT mail_templates FROM queues WHERE name = 'billing'") == \
        [({"de": {"subject": "Neue Antwort von {queue}"}},)]


def test_audit_log_page_lists_changes_with_before_and_after(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    at = signed_in(dashboard_env, "audit.py")
    assert "No changes since then." in texts(at)
    at = signed_in(dashboard_env, "admin_queues.py")
    widget(at.selectbox, "queue_choice").select("sales").run()
    widget(at.toggle, "q_faq_sales").set_value(True)
    click(at, "Save changes")
    at = signed_in(dashboard_env, "audit.py")
    audit = table(at, "What")
    assert list(audit["What"]) == ["queue.update"] and list(audit["Who"]) == ["Supervisor"]
    before, after = at.code[0].value, at.code[1].value
    assert '"faq_suggestions": false' in before and '"faq_suggestions": true' in after
