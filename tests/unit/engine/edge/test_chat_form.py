"""The pre-chat form's verified identity (engine/edge/forms.py ``parse_chat``), without a server:
what could reach a mail header or the HMAC check is refused with the field named."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.edge.forms import parse_chat

FORM = {"queue": "support", "name": "Cora Customer", "email": "cora@example.com", "question": "Where is my order?"}
HMAC = "ab" * 32


async def refusal(identity: Any) -> tuple[str, str | None]:
    with pytest.raises(ProtocolError) as caught:
        await parse_chat(orjson.dumps({**FORM, "identity": identity}))
    return caught.value.code, caught.value.field


async def test_a_good_identity_keeps_the_signed_email_and_stores_it_normalised() -> None:
    form = await parse_chat(orjson.dumps({**FORM, "identity": {"email": "Vip@Example.COM", "name": "Vera Vip",
                                                               "hmac": HMAC.upper()}}))
    assert form.identity is not None
    assert (form.identity.email, form.identity.signed_email) == ("Vip@example.com", "Vip@Example.COM")
    assert (form.identity.name, form.identity.hmac) == ("Vera Vip", HMAC.upper())


@pytest.mark.parametrize("email", ["a@example.com\r\nBcc: x@evil.test", "a@example.com\nBcc: x@evil.test",
                                   "Vera <vip@example.com>", "vip@example.com, x@evil.test", "not-an-address"])
async def test_an_identity_email_is_validated_like_the_forms_email(email: str) -> None:
    assert await refusal({"email": email, "hmac": HMAC}) == ("invalid_email", "identity.email")


@pytest.mark.parametrize("char", ["\r", "\n", "\x00", "\t", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
async def test_an_identity_name_with_a_control_character_is_invalid(char: str) -> None:
    identity = {"email": "vip@example.com", "name": f"Vera{char}Vip", "hmac": HMAC}
    assert await refusal(identity) == ("invalid_value", "identity.name")


@pytest.mark.parametrize("given", ["ä" * 64, "g" * 64, "0x" + "ab" * 31, "ab cd", "0" * 129, 1234, 12.5, True,
                                   [HMAC], {"hmac": HMAC}])
async def test_an_identity_hmac_must_be_at_most_128_hex_digits(given: Any) -> None:
    assert await refusal({"email": "vip@example.com", "hmac": given}) == ("invalid_value", "identity.hmac")


@pytest.mark.parametrize("identity", [{"hmac": HMAC}, {"email": "vip@example.com"},
                                      {"email": "vip@example.com", "hmac": "  "}])
async def test_an_identity_without_email_or_hmac_is_missing_field(identity: dict[str, str]) -> None:
    code, field = await refusal(identity)
    assert code == "missing_field" and field in ("identity.email", "identity.hmac")


async def test_the_form_may_say_the_customers_language() -> None:
    assert (await parse_chat(orjson.dumps({**FORM, "language": "de-CH"}))).language == "de-CH"
    assert (await parse_chat(orjson.dumps(FORM))).language is None
    for bad in ("deutsch!", "d", 7, "de\n"):
        with pytest.raises(ProtocolError) as caught:
            await parse_chat(orjson.dumps({**FORM, "language": bad}))
        assert (caught.value.code, caught.value.field) == ("invalid_value", "language")
