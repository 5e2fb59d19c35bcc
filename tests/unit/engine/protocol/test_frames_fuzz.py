"""Property-based fuzzing of ``parse_frame`` (PROTOCOL.md §4): frames of every client type, built
from the fields the type really has (read off its msgspec struct, so a new field or type is fuzzed
as soon as it exists), with any JSON value in any field, repeated keys, numbers past every limit,
deep nesting, strings PostgreSQL cannot store and bytes that are not UTF-8 JSON.

Whatever comes in, ``parse_frame`` gives a command whose every value the engine can store and send
back, or a ``ProtocolError`` with a code of §4 that an ``error`` event can carry, naming the one
field that was wrong. Hand-picked cases of the same rules: test_frames.py.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.protocol.frames import (
    FRAME_TYPES,
    MAX_FRAME_BYTES,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    Command,
    encode,
    parse_frame,
)
from tests.fuzzing import (
    ALL_FIELDS,
    FIELDS,
    VALID_FRAMES,
    Pairs,
    Token,
    documents,
    dumps,
    hostile_frames,
    json_values,
    replaced,
    to_bytes,
)

# the error codes of PROTOCOL.md §4 that a frame on its own can earn
PARSE_ERROR_CODES = {"bad_frame", "unknown_type", "missing_field", "invalid_value", "too_long",
                     "too_many_attachments"}
# Send and Invite check rules across fields: a wrong value in one may be reported at its partner
PARTNERS = {("send", "text"): {"attachments", "option_id"}, ("send", "attachments"): {"text"},
            ("send", "option_id"): {"text"}, ("invite", "agent_id"): {"queue"},
            ("invite", "queue"): {"agent_id"}, ("transfer", "agent_id"): {"queue"},
            ("transfer", "queue"): {"agent_id"}}

FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


ANY_VALUE = json_values()
GRAMMAR_VALUE = json_values(grammar_only=True, deep=False)


def valid_frame(frame_type: str) -> st.SearchStrategy[dict[str, Any]]:
    return VALID_FRAMES[frame_type]


# ---- what every outcome must be ----------------------------------------------------------------

def storable(value: Any) -> bool:
    """Every string in ``value`` (keys too) is one PostgreSQL text and an orjson event can carry."""
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v) for v in value)
    return True


def check_command(command: Command) -> None:
    """A decoded command holds nothing the engine cannot store, send or compare."""
    fields = msgspec.to_builtins(command)
    assert fields["type"] in FRAME_TYPES
    assert storable(fields), fields
    assert len(fields.get("text", "")) <= MAX_TEXT_CHARS
    for name in ("client_id", "conversation_id", "offer_id", "invitation_id", "transfer_id", "agent_id", "option_id",
                 "queue"):
        value = fields.get(name)
        assert value is None or 1 <= len(value) <= MAX_ID_CHARS, (name, value)
    for key, seq in (fields.get("resume") or {}).items():
        assert 1 <= len(key) <= MAX_ID_CHARS and 0 <= seq <= 2**31 - 1


def check_error(error: ProtocolError) -> None:
    """An error the Session can answer with: a §4 code, a message, and an encodable event."""
    assert error.code in PARSE_ERROR_CODES, error.code
    assert isinstance(error.message, str) and error.message
    assert error.field is None or isinstance(error.field, str)   # "" is the path of a field named ""
    assert error.ref is None or isinstance(error.ref, str)
    event = json.loads(encode(error.to_event()))
    assert event["type"] == "error" and event["code"] == error.code


def outcome(raw: str | bytes) -> Command | ProtocolError:
    """What ``parse_frame`` makes of ``raw``; any exception but a ProtocolError fails the test."""
    try:
        command = parse_frame(raw)
    except ProtocolError as error:
        check_error(error)
        return error
    check_command(command)
    return command


def names_the_field(error: ProtocolError, frame_type: str, name: str) -> bool:
    field = error.field or ""
    return any(field == n or field.startswith((f"{n}.", f"{n}[")) for n in {name} | PARTNERS.get((frame_type, name),
                                                                                                 set()))


# ---- properties --------------------------------------------------------------------------------

@FAST
@given(st.sampled_from(sorted(FRAME_TYPES)).flatmap(valid_frame), st.booleans())
def test_a_valid_frame_of_every_type_decodes_to_its_command_with_the_values_sent(
        frame: dict[str, Any], ascii_only: bool) -> None:
    text = dumps(frame, ascii_only=ascii_only)
    try:
        command = parse_frame(text)
    except ProtocolError as error:
        if len(text) > MAX_FRAME_BYTES:     # 10,000 escaped astral characters fill more than a frame
            assert error.code == "too_long"
            return
        # only the rules across fields refuse a frame whose every field is valid on its own
        assert (frame["type"], error.code) in {("send", "missing_field"), ("send", "invalid_value"),
                                               ("invite", "missing_field"), ("invite", "invalid_value"),
                                               ("transfer", "missing_field"), ("transfer", "invalid_value")}, error
        assume(False)
    check_command(command)
    assert parse_frame(to_bytes(text)) == command
    decoded = msgspec.to_builtins(command)
    for name, value in frame.items():
        assert decoded[name] == value, name


@FAST
@given(hostile_frames(), st.booleans(), st.booleans())
def test_any_frame_is_a_storable_command_or_a_protocol_error_with_a_protocol_code(
        frame: Pairs, ascii_only: bool, as_bytes: bool) -> None:
    text = dumps(frame, ascii_only=ascii_only)
    outcome(to_bytes(text) if as_bytes else text)


@FAST
@given(st.data())
def test_any_bytes_of_a_frame_are_a_storable_command_or_a_protocol_error(data: st.DataObject) -> None:
    outcome(data.draw(documents(data.draw(hostile_frames()))))


@FAST
@given(st.data(), st.sampled_from(sorted(FRAME_TYPES)), st.booleans())
def test_one_wrong_field_is_refused_with_that_field_named(data: st.DataObject, frame_type: str,
                                                          ascii_only: bool) -> None:
    base = data.draw(valid_frame(frame_type), label="base")
    try:
        parse_frame(json.dumps(base))
    except ProtocolError:
        assume(False)   # the rules across fields refuse the base already: see the first property
    name = data.draw(st.sampled_from(["type", *FIELDS[frame_type]]), label="field")
    # JSON by the RFC's grammar (NaN and nesting past the decoder's depth are no field's fault)
    value = data.draw(GRAMMAR_VALUE | st.just(...), label="value")
    text = dumps(replaced(base, name, value), ascii_only=ascii_only)
    result = outcome(text)
    if isinstance(result, ProtocolError):
        if len(text) > MAX_FRAME_BYTES:
            assert result.code == "too_long"
        elif name == "type":
            assert result.field == "type", result
        else:
            assert names_the_field(result, frame_type, name), (result.code, result.field, result.message)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(FRAME_TYPES)), st.sampled_from(["type", *ALL_FIELDS]),
       st.sampled_from([Token("NaN"), Token("-Infinity"), Token("[" * 60_000), Token("[1,]"), Token("'x'")]),
       st.sampled_from([Token("1" * 5_000), Token("-" + "9" * 5_000), Token("[" * 2_000 + "]" * 2_000),
                        Token('{"a":' * 2_000 + "1" + "}" * 2_000)]))
def test_values_beyond_json_or_past_any_decoders_limits_are_errors_not_crashes(
        frame_type: str, name: str, not_json: Token, beyond_limits: Token) -> None:
    frame = Pairs((("type", frame_type), ("client_id", "c1"), ("text", "hi"), (name, not_json)))
    result = outcome(dumps(frame))
    assert isinstance(result, ProtocolError) and result.code == "bad_frame"
    # JSON by the grammar: an ignored field may hold it, a real one is refused with its name
    result = outcome(dumps(replaced(dict(frame.items), name, beyond_limits)))
    if isinstance(result, ProtocolError) and name in FIELDS.get(frame_type, []) and result.code != "bad_frame":
        assert names_the_field(result, frame_type, name), result
