"""What customers, agents and supervisors typed shows as typed on every page: a name like
``![x](http://…/p.png) <img src=x onerror=alert(1)> **bold**`` is those characters, never an image,
HTML or bold text. Each element's Markdown is rendered by a CommonMark renderer (dashkit.Rendered),
which must find the string as text and make no element of it (the browser: test_dashboard_e2e.py)."""

from __future__ import annotations

from dashkit import (  # noqa: F401  (fixtures)
    IMAGE,
    IMAGE_URL,
    MARKUP,
    Hostile,
    Rendered,
    Seed,
    add_hostile,
    dashboard_env_fixture,
    engine_for_dashboard_fixture,
    seed_fixture,
    shown,
    signed_in,
    texts,
    widget,
)
from streamlit.testing.v1 import AppTest

from frontdesk.dashboard import offline

# what a page may make of its own Markdown; an image or a link can only come from a user string
FORBIDDEN = {"img", "a", "script", "iframe", "object", "embed", "link", "style"}


def sources(at: AppTest) -> list[str]:
    """The Markdown of every element and widget label on the page (the sidebar's too)."""
    found = [str(e.value) for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning",
                                       "success", "info") for e in getattr(at, kind)]
    for kind in ("button", "checkbox", "text_input", "text_area", "selectbox", "multiselect", "radio"):
        found += [str(e.label) for e in getattr(at, kind)]
    found += [str(b.proto.label) for b in at.get("download_button")]
    return found


def assert_nothing_made_of_user_text(at: AppTest) -> None:
    for source in sources(at):
        if source.lstrip().startswith("<style>"):
            continue                    # the transcript's own stylesheet
        made = {tag for tag, _ in Rendered(source).elements} & FORBIDDEN
        assert not made, (made, source)
        assert IMAGE_URL not in str(Rendered(source).elements), source


def one_line(text: str) -> str:
    return " ".join(text.splitlines())


def test_transcript_shows_every_user_string_as_typed(dashboard_env: Seed) -> None:
    h: Hostile = add_hostile(dashboard_env)
    at = signed_in(dashboard_env, "conversations.py", conversation=h.conversation)
    assert_nothing_made_of_user_text(at)
    assert shown(at.subheader[0].value) == f"{MARKUP} · Support"
    page = texts(at)
    for line in (f"Customer: {MARKUP}", f"E-mail: {h.email}", f"{h.field}: {IMAGE}", f"Agent: {h.agent}",
                 f"Rejected by Agent One — reason: “{h.reason}”"):
        assert line in page, line
    messages = [Rendered(str(m.value)) for m in at.markdown if 'class="fd-msg' in str(m.value)]
    assert h.text in messages[0].text and messages[0].text.startswith(MARKUP)    # the text with its line breaks
    assert f"Options: {IMAGE}" in messages[1].text and h.agent in messages[1].text
    (button,) = at.get("download_button")
    assert shown(button.proto.label) == f"⬇ {h.filename} (7 B)"


def test_the_conversation_log_shows_the_customer_as_typed(dashboard_env: Seed) -> None:
    h = add_hostile(dashboard_env)
    at = signed_in(dashboard_env, "conversations.py")
    assert_nothing_made_of_user_text(at)
    table = at.dataframe[0].value
    assert MARKUP in set(table["Customer"]) and h.agent in set(table["Agent"])


def test_offline_request_shows_the_customer_and_the_agent_as_typed(dashboard_env: Seed) -> None:
    h = add_hostile(dashboard_env)
    at = signed_in(dashboard_env)
    at.session_state[offline.OPEN_KEY] = h.request
    at.switch_page("offline.py").run()
    assert not at.exception
    assert_nothing_made_of_user_text(at)
    detail = [s for s in at.subheader if MARKUP in shown(str(s.value))]
    assert len(detail) == 1 and shown(str(detail[0].value)).endswith(f" · {MARKUP}")
    page = texts(at)
    assert f"From: {MARKUP} <{h.email}>" in page
    assert f"Handled by {h.agent} at" in page
    assert IMAGE in [str(t.value) for t in at.text]           # the question, in plain text


def test_sidebar_shows_the_supervisors_name_and_address_as_typed(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env)
    dashboard_env.sql("UPDATE staff SET name = %s, email = '**boss**_x_@example.com' WHERE id = %s", MARKUP,
                      dashboard_env.staff["supervisor@demo.test"])
    at.run()
    sidebar = [shown(str(e.value)) for e in (*at.sidebar.markdown, *at.sidebar.caption)]
    assert f"🛎️ Frontdesk · signed in as {MARKUP}" in sidebar and "**boss**_x_@example.com" in sidebar
    assert_nothing_made_of_user_text(at)


def submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.message for e in at.exception]


def create_canned(at: AppTest, title: str) -> None:
    widget(at.text_input, "canned_new_title").input(title)
    widget(at.text_area, "canned_new_text").input("Some text")
    submit(at, "Create")


def test_canned_messages_show_titles_as_typed(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    title = "![t](http://127.0.0.1:1/t.png) **T**"
    at = signed_in(dashboard_env, "canned.py")
    create_canned(at, title)
    assert [shown(str(s.value)) for s in at.success] == [f"Created “{title}” for 🌐 all queues."]
    create_canned(at, title)
    assert [shown(str(e.value)) for e in at.error] == ["Title: a canned message with this title exists for this scope"]
    choice = widget(at.selectbox, "canned_edit_choice")
    choice.select(next(o for o in choice.options if "t.png" in o)).run()
    confirm = [c for c in at.checkbox if "t.png" in shown(str(c.label))]
    assert [shown(str(c.label)) for c in confirm] == [f"Yes, delete “{title}”"]
    assert_nothing_made_of_user_text(at)


def test_faq_and_opening_hours_show_what_was_typed(dashboard_env: Seed, engine_for_dashboard: str) -> None:
    question = "How do I ![q](http://127.0.0.1:1/q.png) **reset**?"
    at = signed_in(dashboard_env, "faq.py")
    widget(at.text_input, "faq_new_question").input(question)
    widget(at.text_area, "faq_new_answer").input("Like this.")
    submit(at, "Create")
    assert [shown(str(s.value)) for s in at.success] == [f"Added “{question}” to after-hours."]
    assert_nothing_made_of_user_text(at)

    at.switch_page("opening_hours.py").run()
    widget(at.selectbox, "hours_queue").select("support").run()
    date = "![d](//evil.example/d.png)"     # no colon: the form splits a special day at its first one
    widget(at.radio, "hours_support_mode").set_value("weekly")
    widget(at.text_input, "hours_support_timezone").input("Europe/Berlin")
    widget(at.text_area, "hours_support_special").input(f"{date}: 09:00-12:00")
    submit(at, "Save opening hours")
    (error,) = at.error
    assert date in shown(str(error.value))
    assert_nothing_made_of_user_text(at)
