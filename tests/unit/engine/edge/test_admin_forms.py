"""The administration API's validation of FAQ entries and opening hours (engine/edge/admin_forms.py),
without a server: every refusal names its field; a schedule is judged by core/hours.py and kept in
its canonical form."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.edge.admin_forms import parse_faq_changes, parse_new_faq, parse_queue_changes

FAQ = {"queue": "support", "question": "  Do you ship abroad? ", "answer": "Yes.\nTo every EU country."}


def refused(parse: Any, body: dict[str, Any]) -> tuple[str, str | None]:
    with pytest.raises(ProtocolError) as caught:
        parse(orjson.dumps(body))
    return caught.value.code, caught.value.field


def test_a_new_faq_entry_is_trimmed() -> None:
    form = parse_new_faq(orjson.dumps(FAQ))
    assert (form.queue, form.question, form.answer) == ("support", "Do you ship abroad?", "Yes.\nTo every EU country.")


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"queue": None}, "missing_field", "queue"), ({"queue": 3}, "invalid_value", "queue"),
    ({"question": " "}, "missing_field", "question"), ({"question": "a\u2028b"}, "invalid_value", "question"),
    ({"question": "q" * 501}, "invalid_value", "question"), ({"answer": None}, "missing_field", "answer"),
    ({"answer": "a\x00"}, "invalid_value", "answer"), ({"answer": "a" * 5001}, "invalid_value", "answer"),
    ({"language": "de"}, "invalid_value", "language"),
])
def test_a_bad_faq_entry_is_refused_with_its_field(change: dict[str, Any], code: str, field: str) -> None:
    assert refused(parse_new_faq, {**FAQ, **change}) == (code, field)


def test_a_faq_change_holds_only_what_it_names() -> None:
    form = parse_faq_changes(orjson.dumps({"answer": "Worldwide."}))
    assert (form.queue, form.question, form.answer) == (None, None, "Worldwide.")
    assert refused(parse_faq_changes, {"question": ""}) == ("missing_field", "question")


def test_opening_hours_are_stored_canonical_with_the_closed_message() -> None:
    form = parse_queue_changes(orjson.dumps({"opening_hours": {"never": True}, "closed_message": " Back soon. "}))
    assert form.settings == {"opening_hours": {"never": True, "timezone": "UTC"}, "closed_message": "Back soon."}


@pytest.mark.parametrize(("hours", "field"), [
    ({"timezone": "Mars/Olympus_Mons"}, "opening_hours.timezone"),
    ({"weekly": {}}, "opening_hours.timezone"),
    ({"timezone": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}}, "opening_hours.weekly.mon[0]"),
    ({"timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "opening_hours.weekly.mon[1]"),
    ({"timezone": "UTC", "special_days": {"2026-02-30": []}}, "opening_hours.special_days.2026-02-30"),
    ({"always": True, "holidays": []}, "opening_hours.holidays"),
    ("always", "opening_hours"), (None, "opening_hours"),
])
def test_bad_opening_hours_are_refused_with_the_part_named(hours: Any, field: str) -> None:
    assert refused(parse_queue_changes, {"opening_hours": hours}) == ("invalid_value", field)


def test_a_closed_message_is_required_and_bounded() -> None:
    assert refused(parse_queue_changes, {"closed_message": ""}) == ("missing_field", "closed_message")
    assert refused(parse_queue_changes, {"closed_message": "x" * 1001}) == ("invalid_value", "closed_message")
