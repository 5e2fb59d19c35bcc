"""``engine/edge/ratings.py``'s ``parse_rating``: a score that is an integer 1–5 and an optional
comment with line breaks but no other control character — or a ``ProtocolError`` naming the field,
whatever the body holds (property-based: every field left out, valid or any JSON value, unknown and
repeated keys, bytes that are not JSON)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.core.errors import FrontdeskError, ProtocolError, http_status
from frontdesk.engine.edge.forms import has_control_character
from frontdesk.engine.edge.ratings import MAX_COMMENT_CHARS, parse_rating
from tests.fuzzing import Pairs, documents, dumps, json_values, to_bytes

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refusal(body: Any) -> tuple[str, str | None]:
    with pytest.raises(ProtocolError) as caught:
        parse_rating(orjson.dumps(body))
    return caught.value.code, caught.value.field


def test_a_score_alone_is_a_rating_without_comment() -> None:
    assert parse_rating(b'{"score": 5}') == (5, None)
    assert parse_rating(b'{"score": 1, "comment": null}') == (1, None)
    assert parse_rating(b'{"score": 3, "comment": "   "}') == (3, None)


def test_a_comment_keeps_its_line_breaks_as_newlines_and_loses_surrounding_blanks() -> None:
    assert parse_rating(orjson.dumps({"score": 4, "comment": " Fast.\r\nFriendly.\rThanks \n"})) == (
        4, "Fast.\nFriendly.\nThanks")


@pytest.mark.parametrize("score", [0, 6, -3, 4.0, 2.5, "5", True, False, [], {}])
def test_a_score_is_an_integer_from_one_to_five(score: Any) -> None:
    assert refusal({"score": score}) == ("invalid_value", "score")


@pytest.mark.parametrize("body", [b'{"score": 1000000000000000000000000000000}', b'{"score": 1e999}',
                                  b'{"score": 5, "comment": "\\ud800"}'])
def test_what_no_field_may_hold_is_refused_at_its_field(body: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_rating(body)
    assert caught.value.code == "invalid_value" and caught.value.field in {"score", "comment"}


def test_a_score_is_required() -> None:
    assert refusal({"comment": "great"}) == ("missing_field", "score")


@pytest.mark.parametrize("comment", [7, True, ["a"], {"a": 1}, "x" * (MAX_COMMENT_CHARS + 1), "a\tb", "a\x1bb",
                                     "a\x00b", "a\u2029b", "a\x85b"])
def test_a_comment_is_bounded_text_without_control_characters(comment: Any) -> None:
    assert refusal({"score": 3, "comment": comment}) == ("invalid_value", "comment")


ratings_bodies = st.lists(st.tuples(st.sampled_from(["score", "comment", "x"]),
                                    st.integers(-2, 8) | st.text(max_size=30) | json_values(huge=False)),
                          max_size=4).map(lambda items: Pairs(tuple(items)))


@FAST
@given(body=ratings_bodies, as_document=st.booleans(), data=st.data())
def test_any_body_gives_a_storable_rating_or_a_4xx_naming_the_field(body: Pairs, as_document: bool,
                                                                    data: st.DataObject) -> None:
    raw = data.draw(documents(body)) if as_document else to_bytes(dumps(body))
    try:
        score, comment = parse_rating(raw)
    except FrontdeskError as exc:
        assert 400 <= http_status(exc) < 500
        assert exc.code == "bad_json" or exc.field in {"score", "comment"} or exc.code == "invalid_value"
        return
    assert isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5
    if comment is not None:
        assert comment.strip() == comment and comment and len(comment) <= MAX_COMMENT_CHARS
        assert "\r" not in comment and not has_control_character(comment.replace("\n", ""))
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in comment) and "\x00" not in comment
