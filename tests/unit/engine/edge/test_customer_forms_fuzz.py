"""Property-based fuzzing of ``engine/edge/customer_forms.py``: every body of the customers' and
accounts' routes, each field left out, valid or any JSON value, with unknown and repeated keys,
and bytes that are not UTF-8 JSON.

Whatever comes in, a parser gives values that can be stored, mailed and shown — no control
character in a name, an external id, a language or a mobile, a mobile in E.164, a normalised
address — or a ``ProtocolError`` with a 4xx code of PROTOCOL.md §3; never another exception.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.core.errors import FrontdeskError, http_status
from frontdesk.engine.edge import customer_forms as cf
from frontdesk.engine.edge.forms import has_control_character
from tests.fuzzing import Pairs, documents, dumps, emails, json_values, one_line, to_bytes

BODY_ERROR_CODES = {"bad_json", "missing_field", "invalid_value", "invalid_email"}
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

mobiles = st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True)
languages = st.sampled_from(["de", "en", "de-CH", "fr", "pt-BR"])
BODIES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "new_customer": {"name": one_line, "email": emails, "mobile": mobiles, "external_id": one_line,
                     "language": languages},
    "changes": {"name": one_line, "mobile": mobiles | st.none(), "external_id": one_line | st.none(),
                "language": languages},
    "code": {"email": emails},
    "login": {"email": emails, "code": st.text("0123456789", min_size=6, max_size=8),
              "password": st.text(min_size=1, max_size=40)},
    "password": {"password": st.text(min_size=10, max_size=40)},
    "logout": {"everywhere": st.booleans()},
}


def parse(kind: str, body: bytes) -> Any:
    if kind == "new_customer":
        return trio.run(cf.parse_new_customer, body)
    if kind == "code":
        return trio.run(cf.parse_code_request, body)
    return {"changes": cf.parse_customer_changes, "login": cf.parse_customer_login, "password": cf.parse_new_password,
            "logout": cf.parse_logout}[kind](body)


def clean(value: str | None) -> bool:
    return value is None or ("\x00" not in value and not has_control_character(value)
                             and not any(0xD800 <= ord(c) <= 0xDFFF for c in value))


def check(kind: str, result: Any) -> None:
    if isinstance(result, cf.NewCustomer):
        assert all(clean(v) for v in (result.name, result.email, result.mobile, result.external_id, result.language))
        assert result.mobile is None or cf.MOBILE.fullmatch(result.mobile)
        assert result.name and result.email
    elif kind == "changes":
        assert all(clean(v) for v in result.values())
        assert result.get("mobile") is None or cf.MOBILE.fullmatch(result["mobile"])
        assert "name" not in result or result["name"]
    elif isinstance(result, cf.CustomerLogin):
        assert (result.code is None) != (result.password is None)
        assert result.email and clean(result.code)
    elif kind == "password":
        assert isinstance(result, str) and len(result) >= 10
    elif kind == "logout":
        assert isinstance(result, bool)
    else:
        assert clean(result) and "@" in result


def outcome(kind: str, body: bytes) -> Any:
    try:
        result = parse(kind, body)
    except FrontdeskError as error:
        assert error.code in BODY_ERROR_CODES, error.code
        assert 400 <= http_status(error) < 500 and error.message
        assert orjson.loads(orjson.dumps(error.to_http()))["error"]["code"] == error.code
        return error
    check(kind, result)
    return result


@st.composite
def hostile_bodies(draw: st.DrawFn, kind: str) -> Pairs:
    any_value = json_values(huge=False)
    items: list[tuple[str, Any]] = []
    for name, valid_value in BODIES[kind].items():
        choice = draw(st.sampled_from(["omit", "valid", "valid", "any"]))
        if choice != "omit":
            items.append((name, draw(valid_value if choice == "valid" else any_value)))
    items += draw(st.lists(st.tuples(st.sampled_from([*BODIES[kind], "x"]), any_value), max_size=2))
    return Pairs(tuple(draw(st.permutations(items))))


KINDS = st.sampled_from(sorted(BODIES))


@FAST
@given(st.data(), KINDS, st.booleans())
def test_any_body_is_clean_values_or_a_4xx_error(data: st.DataObject, kind: str, ascii_only: bool) -> None:
    outcome(kind, to_bytes(dumps(data.draw(hostile_bodies(kind), label="body"), ascii_only=ascii_only)))


@FAST
@given(st.data(), KINDS)
def test_any_bytes_of_a_body_are_clean_values_or_a_4xx_error(data: st.DataObject, kind: str) -> None:
    outcome(kind, data.draw(documents(data.draw(hostile_bodies(kind))), label="bytes"))


@FAST
@given(st.data())
def test_a_valid_new_customer_keeps_its_values(data: st.DataObject) -> None:
    body = data.draw(st.fixed_dictionaries({"name": one_line, "email": emails},
                                           optional={k: BODIES["new_customer"][k]
                                                     for k in ("mobile", "external_id", "language")}))
    form = outcome("new_customer", orjson.dumps(body))
    assert not isinstance(form, FrontdeskError), (form.code, form.field, form.message)
    assert (form.name, form.mobile, form.external_id) == (
        body["name"].strip(), body.get("mobile"), body["external_id"].strip() if "external_id" in body else None)
