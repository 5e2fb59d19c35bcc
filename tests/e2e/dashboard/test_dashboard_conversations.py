"""Conversation log: filters narrow the list; a transcript marks private notes unmistakably and
shows system events, verified fields and attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from dashkit import Seed, dashboard_env_fixture, seed_fixture, shown, signed_in, texts, widget  # noqa: F401  (fixtures)
from streamlit.testing.v1 import AppTest

from frontdesk.dashboard import transcript


def customers(at: AppTest) -> list[str]:
    if not at.dataframe:
        return []
    table: pd.DataFrame = at.dataframe[0].value
    return sorted(name.replace(" 🔒", "") for name in table["Customer"])


ALL = ["Quentin Queue", "Sam Shopper", "Vera Verified"]


def test_filters_narrow_the_list(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "conversations.py")
    assert customers(at) == ALL
    assert "3 conversations match" in texts(at)

    widget(at.multiselect, "log_queues").select("sales").run()
    assert customers(at) == ["Sam Shopper"]
    widget(at.multiselect, "log_queues").unselect("sales").run()

    widget(at.multiselect, "log_statuses").select("ended").run()
    assert customers(at) == ["Vera Verified"]
    widget(at.multiselect, "log_statuses").unselect("ended").run()

    widget(at.selectbox, "log_agent").select(dashboard_env.staff["agent3@demo.test"]).run()
    assert customers(at) == ["Sam Shopper"]
    widget(at.selectbox, "log_agent").select(None).run()

    # the seed's chats began 5 minutes, an hour and two days ago: whatever the hour, the first two
    # fall on or after yesterday and the third two days back
    today = datetime.now(UTC).date()
    widget(at.date_input, "log_from").set_value(today - timedelta(days=1)).run()
    assert customers(at) == ["Quentin Queue", "Sam Shopper"]
    widget(at.date_input, "log_from").set_value(None).run()
    widget(at.date_input, "log_to").set_value(today - timedelta(days=2)).run()
    assert customers(at) == ["Vera Verified"]
    widget(at.date_input, "log_from").set_value(today - timedelta(days=3)).run()
    widget(at.date_input, "log_to").set_value(today - timedelta(days=3)).run()
    assert customers(at) == []
    assert "No conversation matches these filters." in texts(at)
    widget(at.date_input, "log_from").set_value(None).run()
    widget(at.date_input, "log_to").set_value(None).run()
    assert customers(at) == ALL


def test_full_text_search_finds_messages_and_private_notes(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "conversations.py")
    search = widget(at.text_input, "log_text")
    search.input("parcel").run()
    assert customers(at) == ["Vera Verified"]
    widget(at.text_input, "log_text").input("VIP").run()        # only in a private note
    assert customers(at) == ["Vera Verified"]
    widget(at.text_input, "log_text").input("gift cards").run()
    assert customers(at) == ["Sam Shopper"]
    widget(at.text_input, "log_text").input('"invoice 99"').run()
    assert customers(at) == ["Quentin Queue"]
    # a message matches as a whole: "parcel" without "never" is in message 2 only
    widget(at.text_input, "log_text").input("parcel -never").run()
    assert customers(at) == ["Vera Verified"]
    widget(at.text_input, "log_text").input("parcel -never -status").run()
    assert customers(at) == []
    widget(at.text_input, "log_text").input("gift").run()
    widget(at.multiselect, "log_queues").select("support").run()  # combined with another filter
    assert customers(at) == []


def test_the_list_is_paginated(dashboard_env: Seed) -> None:
    dashboard_env.sql(
        "INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, created_at) "
        "SELECT gen_random_uuid(), 'sales', 'ended', 'Bulk ' || i, 'bulk@example.com', 100 + i, "
        "now() - interval '10 days' - i * interval '1 minute' FROM generate_series(1, 60) i")
    at = signed_in(dashboard_env, "conversations.py")
    assert len(at.dataframe[0].value) == 50
    assert "63 conversations match" in texts(at)
    assert widget(at.button, "log_prev").disabled
    widget(at.button, "log_next").click().run()
    assert len(at.dataframe[0].value) == 13
    assert "showing 51–63" in texts(at)
    assert widget(at.button, "log_next").disabled


def _message_blocks(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.markdown if 'class="fd-msg' in str(m.value)]


def test_transcript_marks_private_notes_as_private(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = signed_in(seed, "conversations.py", conversation=seed.c_ended)
    blocks = _message_blocks(at)
    assert len(blocks) == 4
    private = [b for b in blocks if seed.private_text in b]
    public = [b for b in blocks if seed.private_text not in b]
    assert len(private) == 1 and len(public) == 3
    assert transcript.PRIVATE_MARK in private[0] and "fd-private" in private[0]
    assert "never shown to the customer" in private[0]
    for block in public:
        assert transcript.PRIVATE_MARK not in block and "fd-private" not in block
    assert "1 private notes" in texts(at)
    # message text is escaped, never rendered as HTML
    assert "&lt;b&gt;not bold&lt;/b&gt;" in "".join(blocks)


def test_transcript_shows_system_events_verified_fields_and_attachments(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = signed_in(seed, "conversations.py", conversation=seed.c_ended)
    page = texts(at)
    for line in ("Chat started in queue support", "Offered to Agent Two", "Rejected by Agent Two — reason: “busy”",
                 "Offered to Agent One", "Accepted by Agent One", "Ended by the agent (ended)"):
        assert line in page, line
    order = [page.index(s) for s in ("Chat started", "Rejected by Agent Two", "Accepted by Agent One",
                                     "Sorry to hear that", "Ended by the agent")]
    assert order == sorted(order)
    assert "Vera Verified 🔒 verified" in page and "vera@example.com 🔒 verified" in page
    buttons = [b for b in at.get("download_button")]
    assert len(buttons) == 1 and "receipt.txt" in shown(buttons[0].proto.label)
    widget(at.button, "back_to_list").click().run()
    assert customers(at) == ALL


def test_unknown_conversation_says_so(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "conversations.py", conversation="00000000-0000-0000-0000-000000000000")
    assert [e.value for e in at.error] == ["No such conversation."]


def test_a_chosen_option_shows_the_label_of_the_menu_that_offered_it(dashboard_env: Seed) -> None:
    seed = dashboard_env
    cid = seed.c_ended
    seed.sql("INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, text, "
             "options, created_at) VALUES (gen_random_uuid(), %s, 5, 'agent', %s, 'Agent One', %s, 'What next?', "
             "'[{\"id\": \"o1\", \"label\": \"Track my parcel\"}, {\"id\": \"o2\", \"label\": \"Refund\"}]', "
             "now() - interval '1 day')", cid, seed.staff["agent1@demo.test"], seed.staff["agent1@demo.test"])
    seed.sql("INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, text, "
             "option_id, created_at) VALUES (gen_random_uuid(), %s, 6, 'customer', NULL, 'Vera Verified', 'customer', "
             "'Track my parcel', 'o1', now() - interval '1 day'), (gen_random_uuid(), %s, 7, 'customer', NULL, "
             "'Vera Verified', 'customer', 'gone', 'o9', now() - interval '1 day')", cid, cid)
    at = signed_in(seed, "conversations.py", conversation=cid)
    page = texts(at)
    assert "chose “Track my parcel”" in page and "chose option o1" not in page
    assert "chose option o9" in page       # a menu the transcript does not hold: the id is all there is


def test_chosen_labels_take_the_newest_menu_that_offered_the_option() -> None:
    menu = [{"id": "o1", "label": "First"}]
    newer = [{"id": "o1", "label": "Second"}]
    messages = [{"seq": 1, "options": menu, "option_id": None}, {"seq": 2, "options": None, "option_id": "o1"},
                {"seq": 3, "options": newer, "option_id": None}, {"seq": 4, "options": None, "option_id": "o1"}]
    assert transcript.chosen_labels(messages) == {2: "First", 4: "Second"}
