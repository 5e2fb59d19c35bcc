"""The configuration forms' validation (pure functions, no Streamlit, no database)."""

from __future__ import annotations

import pytest

from frontdesk.core import hours
from frontdesk.dashboard import forms


@pytest.mark.parametrize(("text", "expected"), [
    ("", []),
    ("closed", []),
    ("09:00-17:00", [["09:00", "17:00"]]),
    ("9-12, 13:30–17", [["09:00", "12:00"], ["13:30", "17:00"]]),
    ("22:00 to 02:00; 08:00-09:00", [["22:00", "02:00"], ["08:00", "09:00"]]),
])
def test_intervals_are_read_leniently(text: str, expected: list[list[str]]) -> None:
    assert forms.parse_intervals(text, "weekly.mon") == expected


def test_an_interval_that_is_not_one_names_its_position() -> None:
    with pytest.raises(hours.ScheduleError) as err:
        forms.parse_intervals("09:00-12:00, lunch", "weekly.wed")
    assert err.value.field == "weekly.wed[1]"


@pytest.mark.parametrize(("weekly", "field"), [
    ({"mon": "09:00-24:30"}, "weekly.mon[0]"),
    ({"sat": "10:00-10:00"}, "weekly.sat[0]"),
    ({"fri": "08:00-12:00, 11:00-13:00"}, "weekly.fri[1]"),
])
def test_schedule_errors_name_the_field(weekly: dict[str, str], field: str) -> None:
    with pytest.raises(hours.ScheduleError) as err:
        forms.schedule_from_form("weekly", "Europe/Berlin", weekly, "", "")
    assert err.value.field == field


def test_time_zone_is_required_and_checked() -> None:
    for zone, message in (("", "is required"), ("Europe/Atlantis", "unknown IANA time zone")):
        with pytest.raises(hours.ScheduleError) as err:
            forms.schedule_from_form("weekly", zone, {}, "", "")
        assert err.value.field == "timezone" and message in err.value.message


def test_special_days_and_holidays() -> None:
    schedule = forms.schedule_from_form("weekly", "UTC", {"mon": "09:00-17:00"}, "2026-12-25, 2026-12-26",
                                        "2026-12-24: 09:00-12:00\n\n2026-12-31: closed")
    assert schedule["holidays"] == ["2026-12-25", "2026-12-26"]
    assert schedule["special_days"] == {"2026-12-24": [["09:00", "12:00"]], "2026-12-31": []}
    with pytest.raises(hours.ScheduleError) as err:
        forms.schedule_from_form("weekly", "UTC", {}, "2026-12-24", "2026-12-24: closed")
    assert err.value.field == "special_days.2026-12-24"
    with pytest.raises(hours.ScheduleError) as err:
        forms.schedule_from_form("weekly", "UTC", {}, "", "2026-12-24: closed\n2026-12-24: 10-11")
    assert err.value.field == "special_days.2026-12-24" and "twice" in err.value.message


def test_form_values_round_trip() -> None:
    stored = {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]},
              "holidays": ["2026-12-25"], "special_days": {"2026-12-31": []}}
    values = forms.form_values(stored)
    again = forms.schedule_from_form(values["mode"], values["timezone"], values["weekly"], values["holidays"],
                                     values["special_days"])
    assert again == hours.to_json(hours.parse_schedule(stored))
    assert forms.form_values({"never": True})["mode"] == "never"
    assert forms.form_values({"broken": 1})["mode"] == "weekly"  # a broken schedule opens as an empty week


@pytest.mark.parametrize(("field", "label"), [
    ("timezone", "Time zone"), ("weekly.tue[1]", "Tuesday, interval 2"), ("weekly.sun", "Sunday"),
    ("holidays[0]", "Holiday 1"), ("special_days.2026-12-24[0]", "Special day 2026-12-24, interval 1"),
    ("", "Schedule"),
])
def test_fields_are_described_in_words(field: str, label: str) -> None:
    assert forms.describe_field(field) == label


def test_texts_are_required_and_bounded() -> None:
    assert forms.canned("  Hi ", " Hello there ") == ("Hi", "Hello there")
    with pytest.raises(forms.FormError) as err:
        forms.canned("x" * 101, "text")
    assert err.value.field == "title"
