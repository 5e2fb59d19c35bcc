"""The customers' and accounts' bodies and query arguments (engine/edge/customer_forms.py), without a
server: what could reach a mail or a screen is refused with the field named."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.edge.customer_forms import (
    encode_cursor,
    parse_code_request,
    parse_cursor,
    parse_customer_changes,
    parse_customer_login,
    parse_limit,
    parse_logout,
    parse_new_customer,
    parse_new_password,
    parse_query,
)

NEW = {"name": "Cora Customer", "email": "Cora@Example.COM"}


async def refusal(body: dict[str, Any]) -> tuple[str, str | None]:
    with pytest.raises(ProtocolError) as caught:
        await parse_new_customer(orjson.dumps(body))
    return caught.value.code, caught.value.field


async def test_a_new_customer_gets_a_normalised_address_and_english_unless_told() -> None:
    form = await parse_new_customer(orjson.dumps(NEW))
    assert (form.name, form.email, form.mobile, form.external_id, form.language) == \
        ("Cora Customer", "Cora@example.com", None, None, "en")
    form = await parse_new_customer(orjson.dumps({**NEW, "mobile": "+4915112345678", "external_id": "K-1001",
                                                  "language": "de-CH"}))
    assert (form.mobile, form.external_id, form.language) == ("+4915112345678", "K-1001", "de-CH")


@pytest.mark.parametrize("mobile", ["015112345678", "+49 151 12345678", "+0151123456", "+1234567", "+1234567890123456",
                                    "+49151x2345678", "+4915112345678\n", 4915112345678])
async def test_a_mobile_must_be_e164(mobile: Any) -> None:
    assert await refusal({**NEW, "mobile": mobile}) == ("invalid_value", "mobile")


@pytest.mark.parametrize("field", ["name", "external_id", "email", "mobile"])
@pytest.mark.parametrize("char", ["\r", "\n", "\x00", "\x07", "\u2028"])
@pytest.mark.parametrize("where", ["inside", "at the end"])
async def test_control_characters_are_refused_in_every_value(field: str, char: str, where: str) -> None:
    value = {"name": "Cora", "external_id": "K-1", "email": "c@example.com", "mobile": "+4915112345678"}[field]
    value = value[:2] + char + value[2:] if where == "inside" else value + char
    assert await refusal({**NEW, field: value}) == ("invalid_value", field)


@pytest.mark.parametrize("email", ["a@example.com\r\nBcc: x@evil.test", "a@example.com\x00", "Cora <c@example.com>"])
async def test_an_address_that_could_break_a_header_is_refused(email: str) -> None:
    code, field = await refusal({**NEW, "email": email})
    assert field == "email" and code in ("invalid_email", "invalid_value")


@pytest.mark.parametrize("language", ["english", "d", "de_DE", "de\r\n", "12"])
async def test_a_language_is_a_language_tag(language: str) -> None:
    assert await refusal({**NEW, "language": language}) == ("invalid_value", "language")


async def test_a_new_customer_needs_a_name_and_an_address() -> None:
    assert await refusal({"email": "c@example.com"}) == ("missing_field", "name")
    assert await refusal({"name": "Cora"}) == ("missing_field", "email")


def test_changes_keep_what_is_absent_and_may_clear_the_mobile() -> None:
    assert parse_customer_changes(b'{"name": "Cora C."}') == {"name": "Cora C."}
    assert parse_customer_changes(b'{"mobile": null}') == {"mobile": None}
    with pytest.raises(ProtocolError) as caught:
        parse_customer_changes(b'{"email": "new@example.com"}')
    assert caught.value.field == "email"
    with pytest.raises(ProtocolError) as caught:
        parse_customer_changes(b'{"name": null}')
    assert (caught.value.code, caught.value.field) == ("missing_field", "name")


async def test_a_code_request_needs_a_valid_address() -> None:
    assert await parse_code_request(b'{"email": "c@Example.com"}') == "c@example.com"
    with pytest.raises(ProtocolError) as caught:
        await parse_code_request(b'{"email": "not an address"}')
    assert (caught.value.code, caught.value.field) == ("invalid_email", "email")


def test_a_login_takes_a_code_or_a_password() -> None:
    login = parse_customer_login(b'{"email": "c@example.com", "code": " 123 456 "}')
    assert (login.code, login.password) == ("123456", None)
    login = parse_customer_login(b'{"email": "c@example.com", "password": "short"}')   # any length signs in
    assert (login.code, login.password) == (None, "short")


def test_a_new_password_has_at_least_ten_characters() -> None:
    assert parse_new_password(b'{"password": "0123456789"}') == "0123456789"
    for body in (b'{"password": "012345678"}', b'{"password": 1234567890}', b'{"password": ""}', b"{}"):
        with pytest.raises(ProtocolError) as caught:
            parse_new_password(body)
        assert caught.value.field == "password" and caught.value.code in ("invalid_value", "missing_field")


def test_logout_signs_out_everywhere_only_when_asked() -> None:
    assert parse_logout(b"") is False
    assert parse_logout(b"{}") is False
    assert parse_logout(b'{"everywhere": true}') is True
    with pytest.raises(ProtocolError) as caught:
        parse_logout(b'{"everywhere": "yes"}')
    assert caught.value.field == "everywhere"


def test_query_arguments_are_bounded_and_cursors_are_the_apis_own() -> None:
    assert parse_query(None) == "" and parse_query("  cora ") == "cora"
    assert parse_limit(None) == 50 and parse_limit("200") == 200
    assert parse_cursor(encode_cursor("cora customer", "0b9a8a66")) == ("cora customer", "0b9a8a66")
    assert parse_cursor(None) is None
    for bad, check in (("x\x00", parse_query), ("0", parse_limit), ("201", parse_limit), ("١٢", parse_limit),
                       ("-1", parse_limit), ("not-a-cursor", parse_cursor), ("WyJhIl0", parse_cursor),
                       ("ä", parse_cursor)):
        with pytest.raises(ProtocolError) as caught:
            check(bad)
        assert caught.value.code == "invalid_value", bad
