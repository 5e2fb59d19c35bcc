"""The form rules the queue view serves to the customer's page (engine/edge/forms.py ``form_rules``)
are the ones ``parse_chat`` and ``parse_offline_request`` enforce: a value at a limit passes, one
character more is refused naming the field, and every required field is refused when empty."""

from __future__ import annotations

import orjson
import pytest

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.edge.forms import form_rules, parse_chat, parse_offline_request, require_consent

FORM = {"queue": "support", "name": "Cora Customer", "email": "cora@example.com", "question": "Where is my order?"}
RULES = form_rules(["order_number"], "We store your messages.")


@pytest.mark.parametrize("parse", [parse_chat, parse_offline_request])
@pytest.mark.parametrize("field", ["name", "question"])
async def test_the_served_length_limits_are_the_ones_checked(parse: object, field: str) -> None:
    limit = RULES[field]["max_chars"]
    await parse(orjson.dumps({**FORM, field: "x" * limit}))  # type: ignore[operator]
    with pytest.raises(ProtocolError) as caught:
        await parse(orjson.dumps({**FORM, field: "x" * (limit + 1)}))  # type: ignore[operator]
    assert (caught.value.code, caught.value.field) == ("invalid_value", field)


async def test_the_served_email_limit_is_the_one_checked() -> None:
    with pytest.raises(ProtocolError) as caught:
        await parse_chat(orjson.dumps({**FORM, "email": "a" * (RULES["email"]["max_chars"] + 1)}))
    assert (caught.value.code, caught.value.field) == ("invalid_value", "email")


@pytest.mark.parametrize("field", ["name", "email", "question"])
async def test_every_field_served_as_required_is_required(field: str) -> None:
    assert RULES[field]["required"] is True
    with pytest.raises(ProtocolError) as caught:
        await parse_offline_request(orjson.dumps({**FORM, field: "  "}))
    assert (caught.value.code, caught.value.field) == ("missing_field", field)


async def test_extra_fields_and_consent_follow_the_queue() -> None:
    assert RULES["fields"] == {"required": ["order_number"], "max_chars": 1000}
    with pytest.raises(ProtocolError) as caught:
        await parse_chat(orjson.dumps({**FORM, "fields": {"order_number": "x" * 1001}}))
    assert caught.value.field == "fields.order_number"
    assert RULES["consent"] == {"required": True}
    assert form_rules([], None)["consent"] == {"required": False}
    with pytest.raises(ProtocolError):
        require_consent(False, "We store your messages.")


async def test_a_name_with_a_control_character_is_refused_as_served() -> None:
    assert RULES["name"]["no_control_characters"] is True
    with pytest.raises(ProtocolError) as caught:
        await parse_chat(orjson.dumps({**FORM, "name": "Cora\u2028Customer"}))
    assert caught.value.field == "name"
