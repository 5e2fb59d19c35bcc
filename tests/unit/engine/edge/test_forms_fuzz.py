"""Property-based fuzzing of the HTTP body parsers of ``engine/edge/forms.py`` (PROTOCOL.md §3): the
pre-chat form, the offline request and the staff login, each built from its real fields, with any
JSON value in any field, repeated keys, numbers past every limit, deep nesting, strings PostgreSQL
cannot store or a mail header must not carry, and bytes that are not UTF-8 JSON.

Whatever comes in, a parser gives a form whose every value can be stored and mailed, or a
``ProtocolError`` with a 4xx code of §3 naming the one field that was wrong. The same bodies against
a running engine: tests/e2e/edge/test_fuzz_e2e.py.
"""

from __future__ import annotations

import string
from typing import Any

import orjson
import pytest
import trio
from email_validator import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.core.errors import FrontdeskError, http_status
from frontdesk.engine.edge import forms
from tests.fuzzing import (
    BODIES,
    GRAMMAR_NUMBERS,
    NESTED_NAMES,
    VALID_BODIES,
    Pairs,
    documents,
    dumps,
    field_values,
    hostile_bodies,
    json_values,
    replaced,
    to_bytes,
)

BODY_ERROR_CODES = {"bad_json", "missing_field", "invalid_value", "invalid_email"}
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ANY_VALUE = json_values(huge=False)
GRAMMAR_VALUE = json_values(huge=False, grammar_only=True, deep=False)


# ---- running a parser --------------------------------------------------------------------------

def parse(kind: str, body: bytes) -> Any:
    """The form ``kind`` makes of ``body`` (``check_domain`` off: no DNS in unit tests)."""
    if kind == "login":
        return forms.parse_login(body)
    if kind == "offline":
        return trio.run(forms.parse_offline_request, body)
    return trio.run(forms.parse_chat, body)


def check_error(error: FrontdeskError) -> None:
    """An error the routes answer with: a §3 code, a 4xx status and an encodable body."""
    assert error.code in BODY_ERROR_CODES, error.code
    assert 400 <= http_status(error) < 500
    assert isinstance(error.message, str) and error.message
    assert error.field is None or isinstance(error.field, str)
    body = orjson.loads(orjson.dumps(error.to_http()))
    assert body["error"]["code"] == error.code


def storable(value: str) -> bool:
    return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def identity_is_clean(form: Any) -> bool:
    """The verified identity holds a valid address, a one-line name and hex digits."""
    identity = getattr(form, "identity", None)
    if identity is None:
        return True
    return (all(c in string.hexdigits for c in identity.hmac)
            and (identity.name is None or not forms.has_control_character(identity.name))
            and _valid_email(identity.email))


def _valid_email(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except Exception:
        return False
    return True


def check_form(form: Any) -> None:
    """A parsed form holds only values that can be stored, mailed and shown."""
    if isinstance(form, forms.Login):
        assert storable(form.email) and 1 <= len(form.email) <= forms.MAX_EMAIL_CHARS
        assert isinstance(form.password, str) and form.password
        return
    assert storable(form.queue) and form.queue == form.queue.strip() and form.queue
    assert storable(form.question) and form.question.strip()
    assert storable(form.name) and form.name.strip() and not forms.has_control_character(form.name)
    # the address was normalised by email-validator: validating it again changes nothing
    assert validate_email(form.email, check_deliverability=False).normalized == form.email
    for key, value in getattr(form, "fields", {}).items():
        assert storable(key) and storable(value) and value.strip()
    assert identity_is_clean(form)


def outcome(kind: str, body: bytes) -> Any:
    """What the parser of ``kind`` makes of ``body``; any exception but a FrontdeskError fails."""
    try:
        form = parse(kind, body)
    except FrontdeskError as error:
        check_error(error)
        return error
    check_form(form)
    return form


def utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def names_the_field(error: FrontdeskError, name: str) -> bool:
    field = error.field or ""
    return field == name or field.startswith((f"{name}.", f"{name}["))


KINDS = st.sampled_from(sorted(BODIES))


# ---- properties --------------------------------------------------------------------------------

@FAST
@given(st.data(), KINDS, st.booleans())
def test_a_valid_body_of_every_kind_parses_to_its_values(data: st.DataObject, kind: str, ascii_only: bool) -> None:
    body = data.draw(VALID_BODIES[kind], label="body")
    form = outcome(kind, to_bytes(dumps(body, ascii_only=ascii_only)))
    assert not isinstance(form, FrontdeskError), (form.code, form.field, form.message)
    if kind == "login":
        assert (form.email, form.password) == (body["email"].strip(), body["password"])
        return
    assert (form.queue, form.name, form.question) == (body["queue"].strip(), body["name"].strip(),
                                                      body["question"].strip())
    assert form.email == validate_email(body["email"], check_deliverability=False).normalized
    if kind == "chat":
        assert form.fields == {k: v.strip() for k, v in body.get("fields", {}).items()}


@FAST
@given(st.data(), KINDS, st.booleans())
def test_any_body_is_a_storable_form_or_a_4xx_error(data: st.DataObject, kind: str, ascii_only: bool) -> None:
    body = data.draw(hostile_bodies(kind), label="body")
    outcome(kind, to_bytes(dumps(body, ascii_only=ascii_only)))


@FAST
@given(st.data(), KINDS)
def test_any_bytes_of_a_body_are_a_storable_form_or_a_4xx_error(data: st.DataObject, kind: str) -> None:
    outcome(kind, data.draw(documents(data.draw(hostile_bodies(kind))), label="bytes"))


@FAST
@given(st.data(), KINDS, st.booleans())
def test_one_wrong_field_is_refused_with_that_field_named(data: st.DataObject, kind: str, ascii_only: bool) -> None:
    base = data.draw(VALID_BODIES[kind], label="base")
    name = data.draw(st.sampled_from(sorted(BODIES[kind])), label="field")
    # JSON by the RFC's grammar (NaN and nesting past the decoder's depth are no field's fault)
    value = data.draw(GRAMMAR_VALUE | st.just(...), label="value")
    raw = to_bytes(dumps(replaced(base, name, value), ascii_only=ascii_only))
    result = outcome(kind, raw)
    if isinstance(result, FrontdeskError):
        if not utf8(raw):   # a lone surrogate written as itself: the bytes are not UTF-8, not JSON
            assert result.code == "bad_json"
        else:
            assert names_the_field(result, name), (name, result.code, result.field, result.message)


@FAST
@given(st.data(), st.sampled_from(["identity", "fields"]))
def test_one_wrong_value_inside_fields_or_identity_is_named_with_its_path(data: st.DataObject, name: str) -> None:
    base = data.draw(VALID_BODIES["chat"], label="base")
    inner = dict(base.get(name) or data.draw(BODIES["chat"][name]))
    key = data.draw(st.sampled_from([*NESTED_NAMES[name], *inner]), label="key")
    value = data.draw(GRAMMAR_VALUE | st.just(...), label="value")
    result = outcome("chat", to_bytes(dumps(replaced(base, name, replaced(inner, key, value)))))
    if isinstance(result, FrontdeskError):
        assert names_the_field(result, name), (key, result.code, result.field, result.message)


@settings(max_examples=80, deadline=None)
@given(KINDS, st.sampled_from(["queue", "name", "email", "question", "password", "fields", "x"]),
       st.sampled_from(GRAMMAR_NUMBERS))
def test_numbers_past_a_double_or_an_int64_are_named_like_any_wrong_value(kind: str, name: str, number: Any) -> None:
    text = dumps(Pairs((("queue", "support"), ("name", "Cora"), ("email", "cora@example.com"),
                        ("question", "Hi"), ("password", "pw"), (name, number))))
    result = outcome(kind, to_bytes(text))
    if isinstance(result, FrontdeskError) and name in BODIES[kind]:
        assert names_the_field(result, name), (result.code, result.field, result.message)


@pytest.mark.parametrize(("name", "value"), [
    pytest.param("name", "Cora\r\nBcc: eve@example.com", id="CRLF"),
    pytest.param("name", "Cora\nCustomer", id="LF"),
    pytest.param("name", "Cora\x00", id="NUL"),
    pytest.param("name", "Cora\u2028Customer", id="line-separator"),
    pytest.param("name", "Cora\x85Customer", id="next-line"),
])
@pytest.mark.parametrize("kind", ["chat", "offline"])
def test_a_name_that_would_reach_a_mail_with_a_line_break_is_invalid_value(kind: str, name: str, value: str) -> None:
    body = {"queue": "support", "name": value, "email": "cora@example.com", "question": "Hi"}
    result = outcome(kind, orjson.dumps(body))
    assert isinstance(result, FrontdeskError)
    assert (result.code, result.field) == ("invalid_value", "name")


@pytest.mark.parametrize("fields", [[], False, 0, "", "x", [["a", "b"]]])
def test_fields_that_are_not_an_object_are_invalid_value_even_when_empty(fields: Any) -> None:
    body = {"queue": "support", "name": "Cora", "email": "cora@example.com", "question": "Hi", "fields": fields}
    result = outcome("chat", orjson.dumps(body))
    assert isinstance(result, FrontdeskError)
    assert (result.code, result.field) == ("invalid_value", "fields")


def test_a_nul_in_the_name_of_a_field_is_invalid_value_of_fields() -> None:
    # PostgreSQL's jsonb cannot hold the key, so it is refused before anything is stored
    body = b'{"queue":"support","name":"Cora","email":"cora@example.com","question":"Hi","fields":{"a\\u0000":"x"}}'
    result = outcome("chat", body)
    assert isinstance(result, FrontdeskError)
    assert (result.code, result.field) == ("invalid_value", "fields")


@pytest.mark.parametrize(("body", "field"), [
    pytest.param(b'{"queue":"support","name":"a\\ud800"}', "name", id="lone-surrogate-in-a-field"),
    pytest.param(b'{"name":"\\udfff","name":"Cora"}', "name", id="hidden-by-a-repeated-key"),
    pytest.param(b'{"fields":{"\\ud800":"x"}}', "fields", id="lone-surrogate-in-a-key"),
    pytest.param(b'{"question":[1, 1e999]}', "question[1]", id="number-past-a-double"),
    pytest.param(b'{"\\ud800":1}', None, id="lone-surrogate-in-a-top-level-key"),
])
def test_json_no_field_may_hold_is_invalid_value_at_its_path_not_bad_json(body: bytes, field: str | None) -> None:
    result = outcome("chat", body)
    assert isinstance(result, FrontdeskError)
    assert (result.code, result.field) == ("invalid_value", field)


@pytest.mark.parametrize("body", [
    b"", b"\xef\xbb\xbf{}", b"{", b"NaN", b'{"a": NaN}', b'{"a": Infinity}', b"\xff\xfe{}", b"[" * 100_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000, b"[1]", b'"x"', b"null", b'["\\ud800"]',
])
def test_a_body_that_is_not_a_json_object_is_bad_json(body: bytes) -> None:
    for kind in BODIES:
        result = outcome(kind, body)
        assert isinstance(result, FrontdeskError) and result.code == "bad_json", (kind, result)


@FAST
@given(st.lists(st.text(max_size=10), max_size=4), st.dictionaries(st.text(max_size=10), field_values, max_size=4))
def test_required_fields_are_all_present_or_the_first_missing_one_is_named(required: list[str],
                                                                           given_fields: dict[str, str]) -> None:
    form = forms.ChatForm(queue="support", name="Cora", email="cora@example.com", question="Hi", fields=given_fields)
    missing = [name for name in required if name not in given_fields]
    try:
        forms.require_fields(form, required)
    except FrontdeskError as error:
        check_error(error)
        assert (error.code, error.field) == ("missing_field", f"fields.{missing[0]}")
    else:
        assert not missing
