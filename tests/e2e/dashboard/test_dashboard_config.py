"""Configuration pages: canned messages, opening hours and FAQ entries (all saved through a real
engine's admin API) are validated with the field named, and what is accepted is stored and audited."""

from __future__ import annotations

from typing import Any

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

# ---- canned messages ---------------------------------------------------------------------------


def canned_rows(seed: Seed) -> dict[str, tuple[Any, str]]:
    return {title: (queue, text) for queue, title, text in seed.sql("SELECT queue, title, text FROM canned_messages")}


def create_canned(at: AppTest, scope: str, title: str, text: str) -> AppTest:
    widget(at.selectbox, "canned_new_scope").select(scope)
    widget(at.text_input, "canned_new_title").input(title)
    widget(at.text_area, "canned_new_text").input(text)
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_canned_message_is_created_edited_and_deleted(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    seed = dashboard_env
    at = signed_in(seed, "canned.py")
    assert "Greeting" in set(at.dataframe[0].value["Title"])
    create_canned(at, "support", "Refund policy", "Refunds take 5 working days.")
    assert canned_rows(seed)["Refund policy"] == ("support", "Refunds take 5 working days.")
    assert "Created “Refund policy” for queue support." in texts(at)
    assert widget(at.text_input, "canned_new_title").value == ""   # the form is fresh again

    new_id = seed.sql("SELECT id::text FROM canned_messages WHERE title = 'Refund policy'")[0][0]
    widget(at.selectbox, "canned_edit_choice").select(new_id).run()
    widget(at.selectbox, f"canned_edit_scope_{new_id}").select("")     # make it global
    widget(at.text_input, f"canned_edit_title_{new_id}").input("Refunds")
    widget(at.text_area, f"canned_edit_text_{new_id}").input("Refunds take 3 working days.")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert canned_rows(seed)["Refunds"] == (None, "Refunds take 3 working days.")
    assert "Refund policy" not in canned_rows(seed)

    delete = widget(at.button, f"canned_delete_{new_id}")
    assert delete.disabled                                   # not without the confirmation
    widget(at.checkbox, f"canned_delete_confirm_{new_id}").check().run()
    widget(at.button, f"canned_delete_{new_id}").click().run()
    assert "Refunds" not in canned_rows(seed)
    assert "Deleted “Refunds”." in texts(at)
    actions = [a for (a,) in seed.sql("SELECT action FROM audit_log ORDER BY at")]
    assert actions == ["canned.create", "canned.update", "canned.delete"]


def test_canned_message_is_validated(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    seed = dashboard_env
    before = canned_rows(seed)
    at = signed_in(seed, "canned.py")
    create_canned(at, "", "   ", "Some text")
    assert [shown(e.value) for e in at.error] == ["Title: title is required"]
    create_canned(at, "", "Empty", "")
    assert [shown(e.value) for e in at.error] == ["Text: text is required"]
    create_canned(at, "", "greeting", "Hi!")               # "Greeting" exists globally (any case)
    assert [shown(e.value) for e in at.error] == ["Title: a canned message with this title exists for this scope"]
    create_canned(at, "sales", "T" * 10, "x" * 10_001)
    assert "longer than 10000" in shown(at.error[0].value)
    assert canned_rows(seed) == before
    create_canned(at, "sales", "Greeting", "Hello from sales!")  # the same title in another scope is fine
    assert canned_rows(seed)["Greeting"] in {(None, "Hello, thank you for contacting us! How can I help you?"),
                                             ("sales", "Hello from sales!")}
    assert len(seed.sql("SELECT 1 FROM canned_messages WHERE title = 'Greeting'")) == 2


# ---- opening hours -----------------------------------------------------------------------------


def hours_form(seed: Seed, queue: str = "support") -> AppTest:
    at = signed_in(seed, "opening_hours.py")
    widget(at.selectbox, "hours_queue").select(queue).run()
    return at


def save_hours(at: AppTest, queue: str = "support", **fields: str) -> AppTest:
    prefix = f"hours_{queue}_"
    if "mode" in fields:
        widget(at.radio, prefix + "mode").set_value(fields.pop("mode"))
    for name, value in fields.items():
        elements = at.text_area if name in ("holidays", "special", "closed") else at.text_input
        widget(elements, prefix + name).input(value)
    next(b for b in at.button if b.label == "Save opening hours").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def stored_hours(seed: Seed, queue: str = "support") -> Any:
    return seed.sql("SELECT opening_hours FROM queues WHERE name = %s", queue)[0][0]


def test_bad_time_zone_is_refused_with_the_field_named(dashboard_env: Seed) -> None:
    at = hours_form(dashboard_env)
    save_hours(at, mode="weekly", timezone="Mars/Olympus_Mons", mon="09:00-17:00")
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Not saved. **Time zone** (`timezone`): unknown IANA time zone")
    assert stored_hours(dashboard_env) == {"always": True}


def test_bad_intervals_are_refused_with_the_field_named(dashboard_env: Seed) -> None:
    at = hours_form(dashboard_env)
    save_hours(at, mode="weekly", timezone="Europe/Berlin", mon="09:00-25:00")
    assert "**Monday\\, interval 1** (`weekly.mon[0]`)" in at.error[0].value   # in words, then the path as code
    assert "Monday, interval 1 (weekly.mon[0])" in shown(at.error[0].value)
    assert "25:00" in shown(at.error[0].value)
    save_hours(at, mon="09:00-17:00", tue="09:00-12:00, 11:00-14:00")
    assert "Tuesday, interval 2 (weekly.tue[1]): overlaps weekly.tue[0]" in shown(at.error[0].value)
    save_hours(at, tue="nine to five")
    assert "(weekly.tue[0])" in shown(at.error[0].value)
    save_hours(at, tue="", holidays="2026-02-30")
    assert "Holiday 1 (holidays[0])" in shown(at.error[0].value)
    save_hours(at, holidays="", special="2026-12-24 morning")
    assert "Special days (special_days)" in shown(at.error[0].value)
    assert stored_hours(dashboard_env) == {"always": True}


def test_valid_schedule_is_stored_in_canonical_form(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    seed = dashboard_env
    at = hours_form(seed)
    save_hours(at, mode="weekly", timezone="Europe/Berlin", mon="9-12, 13:00-17:00", fri="22:00-02:00",
               holidays="2026-12-25\n2026-12-26", special="2026-12-24: 09:00-12:00\n2026-12-31: closed",
               closed="Back on Monday!")
    assert not at.error, [e.value for e in at.error]
    assert stored_hours(seed) == {
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["22:00", "02:00"]]},
        "holidays": ["2026-12-25", "2026-12-26"],
        "special_days": {"2026-12-24": [["09:00", "12:00"]], "2026-12-31": []},
    }
    assert seed.sql("SELECT closed_message FROM queues WHERE name = 'support'")[0][0] == "Back on Monday!"
    assert "Saved the opening hours of support." in texts(at)
    # the form shows the stored, canonical values again
    assert widget(at.text_input, "hours_support_mon").value == "09:00-12:00, 13:00-17:00"
    save_hours(at, mode="never", timezone="")
    assert stored_hours(seed) == {"never": True, "timezone": "UTC"}
    audited = seed.sql("SELECT action, target, before->'opening_hours', after->'opening_hours', "
                       "after->>'closed_message' FROM audit_log ORDER BY at")
    assert [(a, t) for a, t, *_ in audited] == [("queue.update", "support"), ("queue.update", "support")]
    assert audited[0][2] == {"always": True} and audited[0][3]["timezone"] == "Europe/Berlin"
    assert audited[1][3] == {"never": True, "timezone": "UTC"} and audited[1][4] == "Back on Monday!"


def test_an_empty_closed_message_is_refused_by_the_engine(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    at = hours_form(dashboard_env)
    save_hours(at, mode="never", closed="   ")
    assert [shown(e.value) for e in at.error] == ["Closed message: closed_message is required"]
    assert stored_hours(dashboard_env) == {"always": True}
    assert dashboard_env.sql("SELECT 1 FROM audit_log") == []


# ---- FAQ ---------------------------------------------------------------------------------------


def test_faq_entry_gets_the_queue_language_and_is_validated(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    seed = dashboard_env
    seed.sql("UPDATE queues SET language = 'german' WHERE name = 'sales'")
    at = signed_in(seed, "faq.py")
    widget(at.selectbox, "faq_queue").select("sales").run()
    widget(at.text_input, "faq_new_question").input("Wie lange dauert der Versand?")
    widget(at.text_area, "faq_new_answer").input("")
    next(b for b in at.button if b.label == "Create").click().run()
    assert [shown(e.value) for e in at.error] == ["Answer: answer is required"]
    widget(at.text_area, "faq_new_answer").input("Zwei bis drei Werktage.")
    next(b for b in at.button if b.label == "Create").click().run()
    rows = seed.sql("SELECT id::text, language::text FROM faq_entries WHERE queue = 'sales'")
    assert [r[1] for r in rows] == ["german"]
    # stored with the German stemmer: "Versands" finds "Versand"
    assert seed.sql("SELECT count(*) FROM faq_entries WHERE search @@ to_tsquery('german', 'Versands')")[0][0] == 1

    faq_id = rows[0][0]
    widget(at.selectbox, "faq_edit_choice_sales").select(faq_id).run()
    widget(at.selectbox, f"faq_edit_queue_{faq_id}").select("support")
    widget(at.text_input, f"faq_edit_question_{faq_id}").input("How long does shipping take?")
    widget(at.text_area, f"faq_edit_answer_{faq_id}").input("Two to three working days.")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert seed.sql("SELECT queue, question, language::text FROM faq_entries WHERE id = %s", faq_id) == [
        ("support", "How long does shipping take?", "english")]

    widget(at.selectbox, "faq_queue").select("support").run()
    widget(at.selectbox, "faq_edit_choice_support").select(faq_id).run()
    widget(at.checkbox, f"faq_delete_confirm_{faq_id}").check().run()
    widget(at.button, f"faq_delete_{faq_id}").click().run()
    assert seed.sql("SELECT 1 FROM faq_entries WHERE id = %s", faq_id) == []
    assert seed.sql("SELECT action, target FROM audit_log ORDER BY at") == [
        ("faq.create", faq_id), ("faq.update", faq_id), ("faq.delete", faq_id)]


def test_faq_question_taken_in_its_queue_is_refused(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    seed = dashboard_env
    question = seed.sql("SELECT question FROM faq_entries WHERE queue = 'support' LIMIT 1")[0][0]
    at = signed_in(seed, "faq.py")
    widget(at.selectbox, "faq_queue").select("support").run()
    widget(at.text_input, "faq_new_question").input(question.upper())
    widget(at.text_area, "faq_new_answer").input("Another answer.")
    next(b for b in at.button if b.label == "Create").click().run()
    assert [shown(e.value) for e in at.error] == ["Question: queue support already has an entry with this question"]
    assert seed.sql("SELECT 1 FROM audit_log") == []
