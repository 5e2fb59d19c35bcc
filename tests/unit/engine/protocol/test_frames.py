"""The websocket schema layer: frames in, typed commands or ProtocolErrors out."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.protocol.frames import (
    FRAME_TYPES,
    MAX_ATTACHMENTS,
    MAX_FRAME_BYTES,
    MAX_TEXT_CHARS,
    Accept,
    AcceptInvitation,
    AcceptTransfer,
    Command,
    DeclineInvitation,
    DeclineTransfer,
    End,
    Hello,
    Invite,
    Join,
    Leave,
    Monitor,
    OptionItem,
    Ping,
    Presence,
    Read,
    Reassign,
    Reject,
    Send,
    SetAgentPresence,
    SetStatus,
    TakeOver,
    Transfer,
    Typing,
    Unmonitor,
    _decoder,
    _split_validation_message,
    encode,
    parse_frame,
)

ERROR_CODES = {"bad_frame", "unknown_type", "missing_field", "invalid_value", "too_long",
               "too_many_attachments"}


def frame(**fields: object) -> str:
    """A frame as a client would send it (surrogates escaped as ``\\udXXX``)."""
    return json.dumps(fields)


def error_of(raw: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_frame(raw)
    return info.value


def assert_error(raw: str | bytes, code: str, field: str | None) -> ProtocolError:
    error = error_of(raw)
    assert (error.code, error.field) == (code, field), error.message
    return error


TWO_OPTIONS = [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}]

# A minimal valid frame of every type, keyed by a field to corrupt in the tables below.
VALID: dict[str, dict[str, object]] = {
    "hello": {"type": "hello", "token": "tok"},
    "ping": {"type": "ping"},
    "presence": {"type": "presence", "state": "away"},
    "accept": {"type": "accept", "offer_id": "o1"},
    "reject": {"type": "reject", "offer_id": "o1"},
    "send": {"type": "send", "client_id": "c1", "text": "hi"},
    "read": {"type": "read", "conversation_id": "k1", "seq": 3},
    "typing": {"type": "typing", "conversation_id": "k1"},
    "invite": {"type": "invite", "conversation_id": "k1", "queue": "sales"},
    "accept_invitation": {"type": "accept_invitation", "invitation_id": "i1"},
    "decline_invitation": {"type": "decline_invitation", "invitation_id": "i1"},
    "leave": {"type": "leave", "conversation_id": "k1"},
    "end": {"type": "end"},
    "set_status": {"type": "set_status", "conversation_id": "k1", "status": "pending"},
    "transfer": {"type": "transfer", "conversation_id": "k1", "agent_id": "a2"},
    "accept_transfer": {"type": "accept_transfer", "transfer_id": "t1"},
    "decline_transfer": {"type": "decline_transfer", "transfer_id": "t1"},
    "monitor": {"type": "monitor", "conversation_id": "k1"},
    "unmonitor": {"type": "unmonitor", "conversation_id": "k1"},
    "join": {"type": "join", "conversation_id": "k1"},
    "take_over": {"type": "take_over", "conversation_id": "k1"},
    "reassign": {"type": "reassign", "conversation_id": "k1", "agent_id": "a2"},
    "set_agent_presence": {"type": "set_agent_presence", "agent_id": "a2", "state": "away"},
}


def variant(frame_type: str, **changes: object) -> str:
    """A valid frame of ``frame_type`` with some fields changed (``...`` removes one)."""
    fields = {**VALID[frame_type], **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...})


# --- happy paths --------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "expected"), [
    ({"type": "hello", "token": "t"}, Hello(token="t")),
    ({"type": "hello", "token": "t", "resume": {"k1": 0, "k2": 7}}, Hello(token="t", resume={"k1": 0, "k2": 7})),
    ({"type": "ping"}, Ping()),
    ({"type": "presence", "state": "available"}, Presence(state="available")),
    ({"type": "presence", "state": "away"}, Presence(state="away")),
    ({"type": "accept", "offer_id": "o1"}, Accept(offer_id="o1")),
    ({"type": "reject", "offer_id": "o1"}, Reject(offer_id="o1")),
    ({"type": "reject", "offer_id": "o1", "reason": "busy"}, Reject(offer_id="o1", reason="busy")),
    ({"type": "send", "client_id": "c1", "text": "hi"}, Send(client_id="c1", text="hi")),
    ({"type": "send", "client_id": "c1", "text": "hi", "conversation_id": "k1", "private": True,
      "attachments": ["a1", "a2"], "options": TWO_OPTIONS},
     Send(client_id="c1", text="hi", conversation_id="k1", private=True, attachments=["a1", "a2"],
          options=[OptionItem(id="yes", label="Yes"), OptionItem(id="no", label="No")])),
    ({"type": "send", "client_id": "c1", "option_id": "yes"}, Send(client_id="c1", option_id="yes")),
    ({"type": "send", "client_id": "c1", "attachments": ["a1"]}, Send(client_id="c1", attachments=["a1"])),
    ({"type": "read", "conversation_id": "k1", "seq": 0}, Read(conversation_id="k1", seq=0)),
    ({"type": "typing", "conversation_id": "k1"}, Typing(conversation_id="k1")),
    ({"type": "invite", "conversation_id": "k1", "agent_id": "a1"}, Invite(conversation_id="k1", agent_id="a1")),
    ({"type": "invite", "conversation_id": "k1", "queue": "sales"}, Invite(conversation_id="k1", queue="sales")),
    ({"type": "accept_invitation", "invitation_id": "i1"}, AcceptInvitation(invitation_id="i1")),
    ({"type": "decline_invitation", "invitation_id": "i1"}, DeclineInvitation(invitation_id="i1")),
    ({"type": "leave", "conversation_id": "k1"}, Leave(conversation_id="k1")),
    ({"type": "transfer", "conversation_id": "k1", "agent_id": "a2", "note": "VIP"},
     Transfer(conversation_id="k1", agent_id="a2", note="VIP")),
    ({"type": "transfer", "conversation_id": "k1", "queue": "sales"}, Transfer(conversation_id="k1", queue="sales")),
    ({"type": "accept_transfer", "transfer_id": "t1"}, AcceptTransfer(transfer_id="t1")),
    ({"type": "decline_transfer", "transfer_id": "t1"}, DeclineTransfer(transfer_id="t1")),
    ({"type": "end"}, End()),
    ({"type": "set_status", "conversation_id": "k1", "status": "resolved"},
     SetStatus(conversation_id="k1", status="resolved")),
    ({"type": "end", "conversation_id": "k1", "transcript_email": True},
     End(conversation_id="k1", transcript_email=True)),
    ({"type": "monitor", "conversation_id": "k1"}, Monitor(conversation_id="k1")),
    ({"type": "unmonitor", "conversation_id": "k1"}, Unmonitor(conversation_id="k1")),
    ({"type": "join", "conversation_id": "k1"}, Join(conversation_id="k1")),
    ({"type": "take_over", "conversation_id": "k1"}, TakeOver(conversation_id="k1")),
    ({"type": "reassign", "conversation_id": "k1", "agent_id": "a2"}, Reassign(conversation_id="k1", agent_id="a2")),
    ({"type": "set_agent_presence", "agent_id": "a2", "state": "available"},
     SetAgentPresence(agent_id="a2", state="available")),
])
def test_every_frame_type_decodes_to_its_command(fields: dict[str, object], expected: Command) -> None:
    assert parse_frame(json.dumps(fields)) == expected
    assert parse_frame(json.dumps(fields).encode()) == expected


def test_frame_types_are_exactly_the_protocol_client_frames() -> None:
    assert set(VALID) == FRAME_TYPES == {
        "hello", "ping", "presence", "accept", "reject", "send", "read", "typing", "invite",
        "accept_invitation", "decline_invitation", "leave", "end", "set_status", "transfer", "accept_transfer",
        "decline_transfer", "monitor", "unmonitor", "join", "take_over", "reassign", "set_agent_presence"}


def test_send_defaults() -> None:
    command = parse_frame(frame(type="send", client_id="c1", text="hi"))
    assert command == Send(client_id="c1", text="hi", conversation_id=None, private=False, attachments=[],
                           options=None, option_id=None)


def test_unknown_fields_are_ignored() -> None:
    assert parse_frame(variant("read", future_field={"x": [1, 2]}, version=2)) == Read(conversation_id="k1", seq=3)


def test_type_may_come_last_and_whitespace_is_allowed() -> None:
    assert parse_frame(' {"offer_id": "o1", "type": "accept"} \n') == Accept(offer_id="o1")


def test_commands_are_frozen() -> None:
    command = parse_frame(variant("accept"))
    with pytest.raises(AttributeError):
        command.offer_id = "other"  # type: ignore[misc, union-attr]


@pytest.mark.parametrize("identifier", ["not-a-uuid", "42", "x" * 200, "ünïcødé 😀"])
def test_ids_are_opaque_strings(identifier: str) -> None:
    assert parse_frame(variant("accept", offer_id=identifier)) == Accept(offer_id=identifier)


# --- frame-level errors -------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "", "   ", "x", "{", '{"type": "ping"', '{"type": "ping"} x', "[]", '[{"type": "ping"}]', "1", '"ping"',
    "null", "true", '{"type": "ping", "x": NaN}', '{"type": "ping", "x": Infinity}', "{'type': 'ping'}",
    b"\xff\xfe", b'\xef\xbb\xbf{"type": "ping"}', b'{"type": "accept", "offer_id": "\xc3"}',
    '{"type": "ping", "x": "a\x00b"}', '{"type": "ping", "x": "tab\there"}',
])
def test_non_json_or_non_object_is_bad_frame(raw: str | bytes) -> None:
    error = assert_error(raw, "bad_frame", None)
    assert error.ref is None


def test_json_nested_too_deeply_is_bad_frame() -> None:
    assert_error('{"type": "ping", "x": ' + "[" * 20_000 + "]" * 20_000 + "}", "bad_frame", None)


@pytest.mark.parametrize("raw", ["x" * (MAX_FRAME_BYTES + 1), b"{" * (MAX_FRAME_BYTES + 1)])
def test_frame_over_size_limit_is_too_long_without_parsing(raw: str | bytes) -> None:
    assert_error(raw, "too_long", None)


def test_frame_without_type_is_missing_field() -> None:
    assert_error(frame(offer_id="o1"), "missing_field", "type")


@pytest.mark.parametrize("type_value", [1, 1.5, None, True, [], {}, ["ping"]])
def test_non_string_type_is_invalid_value(type_value: object) -> None:
    assert_error(frame(type=type_value), "invalid_value", "type")


@pytest.mark.parametrize("type_value", ["pong", "PING", "", "message", "hello "])
def test_unknown_type_string_is_unknown_type_naming_it(type_value: str) -> None:
    error = assert_error(frame(type=type_value, client_id="c1"), "unknown_type", "type")
    assert repr(type_value) in error.message


def test_conflicting_duplicate_type_keys_are_invalid_value() -> None:
    assert_error('{"type": "ping", "type": "read"}', "invalid_value", "type")


# --- field errors -------------------------------------------------------------------------

@pytest.mark.parametrize(("frame_type", "field"), [
    ("hello", "token"),
    ("presence", "state"),
    ("accept", "offer_id"),
    ("reject", "offer_id"),
    ("send", "client_id"),
    ("read", "conversation_id"),
    ("read", "seq"),
    ("typing", "conversation_id"),
    ("invite", "conversation_id"),
    ("accept_invitation", "invitation_id"),
    ("decline_invitation", "invitation_id"),
    ("leave", "conversation_id"),
])
def test_missing_required_field_is_missing_field(frame_type: str, field: str) -> None:
    assert_error(variant(frame_type, **{field: ...}), "missing_field", field)


def test_missing_field_inside_an_option_names_its_path() -> None:
    raw = variant("send", options=[{"id": "a", "label": "A"}, {"id": "b"}])
    assert_error(raw, "missing_field", "options[1].label")


@pytest.mark.parametrize(("frame_type", "changes", "field"), [
    ("hello", {"token": 5}, "token"),
    ("hello", {"resume": []}, "resume"),
    ("hello", {"resume": "k1"}, "resume"),
    ("hello", {"resume": {"k1": "3"}}, "resume"),
    ("hello", {"resume": {"k1": 1.5}}, "resume"),
    ("hello", {"resume": {"k1": None}}, "resume"),
    ("presence", {"state": "busy"}, "state"),
    ("presence", {"state": True}, "state"),
    ("accept", {"offer_id": 7}, "offer_id"),
    ("reject", {"reason": 7}, "reason"),
    ("send", {"client_id": None}, "client_id"),
    ("send", {"text": 5}, "text"),
    ("send", {"text": None}, "text"),
    ("send", {"private": "yes"}, "private"),
    ("send", {"private": 1}, "private"),
    ("send", {"conversation_id": 1}, "conversation_id"),
    ("send", {"attachments": "a1"}, "attachments"),
    ("send", {"attachments": None}, "attachments"),
    ("send", {"attachments": ["a1", 2]}, "attachments[1]"),
    ("send", {"options": "yes,no"}, "options"),
    ("send", {"options": [{"id": "a", "label": "A"}, "b"]}, "options[1]"),
    ("send", {"options": [{"id": "a", "label": "A"}, {"id": "b", "label": 3}]}, "options[1].label"),
    ("send", {"option_id": 1}, "option_id"),
    ("read", {"seq": "3"}, "seq"),
    ("read", {"seq": 3.0}, "seq"),
    ("read", {"seq": True}, "seq"),
    ("read", {"seq": None}, "seq"),
    ("typing", {"conversation_id": []}, "conversation_id"),
    ("invite", {"agent_id": 1, "queue": ...}, "agent_id"),
    ("accept_invitation", {"invitation_id": {}}, "invitation_id"),
    ("end", {"transcript_email": "true"}, "transcript_email"),
    ("end", {"conversation_id": 0}, "conversation_id"),
])
def test_wrong_json_type_is_invalid_value_at_its_path(frame_type: str, changes: dict[str, object],
                                                       field: str) -> None:
    error = assert_error(variant(frame_type, **changes), "invalid_value", field)
    assert "`" not in error.message.partition(":")[0]  # our words first, msgspec's detail after


@pytest.mark.parametrize(("frame_type", "changes", "field"), [
    ("read", {"seq": -1}, "seq"),
    ("read", {"seq": 2**31}, "seq"),
    ("read", {"seq": 10**30}, "seq"),
    ("hello", {"resume": {"k1": -1}}, "resume"),
    ("hello", {"resume": {"k1": 2**31}}, "resume"),
    ("reject", {"reason": "r" * 1001}, "reason"),
])
def test_out_of_range_value_is_invalid_value(frame_type: str, changes: dict[str, object], field: str) -> None:
    assert_error(variant(frame_type, **changes), "invalid_value", field)


def test_number_too_large_for_a_float_is_invalid_value() -> None:
    assert_error('{"type": "read", "conversation_id": "k1", "seq": 1e400}', "invalid_value", "seq")


def test_limits_are_inclusive() -> None:
    assert parse_frame(variant("read", seq=2**31 - 1)) == Read(conversation_id="k1", seq=2**31 - 1)
    assert parse_frame(variant("reject", reason="r" * 1000)) == Reject(offer_id="o1", reason="r" * 1000)
    assert parse_frame(variant("reject", reason="")) == Reject(offer_id="o1", reason="")


@pytest.mark.parametrize("text", ["x" * (MAX_TEXT_CHARS + 1), "😀" * (MAX_TEXT_CHARS + 1), "x" * 30_000])
def test_text_over_limit_is_too_long(text: str) -> None:
    raw = json.dumps(VALID["send"] | {"text": text}, ensure_ascii=False)
    assert_error(raw, "too_long", "text")
    assert_error(raw.encode(), "too_long", "text")


@pytest.mark.parametrize("text", ["x" * MAX_TEXT_CHARS, "😀" * MAX_TEXT_CHARS])
def test_text_at_limit_is_accepted(text: str) -> None:
    command = parse_frame(json.dumps(VALID["send"] | {"text": text}, ensure_ascii=False))
    assert isinstance(command, Send)
    assert command.text == text


@pytest.mark.parametrize("count", [MAX_ATTACHMENTS + 1, 20])
def test_more_than_five_attachments_is_too_many_attachments(count: int) -> None:
    assert_error(variant("send", attachments=[f"a{i}" for i in range(count)]), "too_many_attachments",
                 "attachments")


def test_more_than_five_attachments_is_too_many_even_with_bad_entries() -> None:
    assert_error(variant("send", attachments=[""] * 6), "too_many_attachments", "attachments")


def test_five_attachments_are_accepted() -> None:
    ids = [f"a{i}" for i in range(MAX_ATTACHMENTS)]
    assert parse_frame(variant("send", attachments=ids)) == Send(client_id="c1", text="hi", attachments=ids)


@pytest.mark.parametrize("options", [
    [],
    [{"id": "a", "label": "A"}],
    [{"id": f"o{i}", "label": f"O{i}"} for i in range(11)],
    [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}],
    [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}, {"id": "a", "label": "C"}],
])
def test_options_need_two_to_ten_items_with_unique_ids(options: list[dict[str, str]]) -> None:
    assert_error(variant("send", options=options), "invalid_value", "options")


@pytest.mark.parametrize("count", [2, 10])
def test_two_to_ten_options_are_accepted(count: int) -> None:
    options = [{"id": f"o{i}", "label": f"O{i}"} for i in range(count)]
    command = parse_frame(variant("send", options=options))
    assert isinstance(command, Send)
    assert command.options is not None
    assert [option.id for option in command.options] == [f"o{i}" for i in range(count)]


ID_FIELDS: list[tuple[str, str, str]] = [
    # frame type, field whose value is replaced, field path reported
    ("send", "client_id", "client_id"),
    ("send", "conversation_id", "conversation_id"),
    ("send", "option_id", "option_id"),
    ("accept", "offer_id", "offer_id"),
    ("reject", "offer_id", "offer_id"),
    ("read", "conversation_id", "conversation_id"),
    ("typing", "conversation_id", "conversation_id"),
    ("invite", "conversation_id", "conversation_id"),
    ("invite", "queue", "queue"),
    ("accept_invitation", "invitation_id", "invitation_id"),
    ("decline_invitation", "invitation_id", "invitation_id"),
    ("leave", "conversation_id", "conversation_id"),
    ("end", "conversation_id", "conversation_id"),
]


@pytest.mark.parametrize("bad_id", ["", "x" * 201])
@pytest.mark.parametrize(("frame_type", "field", "path"), ID_FIELDS)
def test_id_fields_must_be_non_empty_and_at_most_200_chars(frame_type: str, field: str, path: str,
                                                             bad_id: str) -> None:
    assert_error(variant(frame_type, **{field: bad_id}), "invalid_value", path)


@pytest.mark.parametrize("bad_id", ["", "x" * 201])
@pytest.mark.parametrize(("changes", "path"), [
    ({"attachments": ["a1", "BAD"]}, "attachments[1]"),
    ({"options": [{"id": "BAD", "label": "A"}, {"id": "b", "label": "B"}]}, "options[0].id"),
    ({"options": [{"id": "a", "label": "A"}, {"id": "b", "label": "BAD"}]}, "options[1].label"),
])
def test_nested_ids_and_labels_must_be_non_empty_and_at_most_200_chars(changes: dict[str, object], path: str,
                                                                        bad_id: str) -> None:
    raw = variant("send", **changes).replace('"BAD"', json.dumps(bad_id))
    assert_error(raw, "invalid_value", path)


@pytest.mark.parametrize("bad_key", ["", "k" * 201])
def test_resume_keys_are_conversation_ids(bad_key: str) -> None:
    assert_error(variant("hello", resume={bad_key: 1}), "invalid_value", "resume")


@pytest.mark.parametrize("changes", [{}, {"text": ""}, {"text": "", "attachments": []}, {"option_id": None}])
def test_send_without_text_attachments_or_option_is_missing_text(changes: dict[str, object]) -> None:
    assert_error(json.dumps({"type": "send", "client_id": "c1", **changes}), "missing_field", "text")


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"queue": ...}, "missing_field", "agent_id"),
    ({"queue": None, "agent_id": None}, "missing_field", "agent_id"),
    ({"agent_id": "a1"}, "invalid_value", "queue"),
])
def test_invite_needs_exactly_one_of_agent_id_and_queue(changes: dict[str, object], code: str, field: str) -> None:
    assert_error(variant("invite", **changes), code, field)


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"agent_id": ...}, "missing_field", "agent_id"),
    ({"queue": "sales"}, "invalid_value", "queue"),
    ({"agent_id": ""}, "invalid_value", "agent_id"),
    ({"note": 5}, "invalid_value", "note"),
    ({"note": "x" * (MAX_TEXT_CHARS + 1)}, "invalid_value", "note"),
    ({"conversation_id": ...}, "missing_field", "conversation_id"),
])
def test_transfer_needs_one_target_and_a_short_text_note(changes: dict[str, object], code: str, field: str) -> None:
    assert_error(variant("transfer", **changes), code, field)


def test_an_error_about_a_transfer_answer_echoes_its_transfer_id() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(variant("accept_transfer", transfer_id=7))
    assert caught.value.field == "transfer_id"
    with pytest.raises(ProtocolError) as caught:
        parse_frame(json.dumps({"type": "decline_transfer", "transfer_id": "t9", "x": "\x00"}))
    assert caught.value.ref == "t9"


# --- strings PostgreSQL cannot store ------------------------------------------------------

BAD_CHARS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]

BAD_STRING_PLACES: list[tuple[str, dict[str, object], str | None]] = [
    # frame type, changes with "BAD" where the bad string goes, field path reported
    ("send", {"text": "hello BAD"}, "text"),
    ("send", {"client_id": "BAD"}, "client_id"),
    ("send", {"conversation_id": "kBAD"}, "conversation_id"),
    ("send", {"attachments": ["a1", "BAD"]}, "attachments[1]"),
    ("send", {"options": [{"id": "a", "label": "A"}, {"id": "b", "label": "BAD label"}]}, "options[1].label"),
    ("send", {"options": [{"id": "BAD", "label": "A"}, {"id": "b", "label": "B"}]}, "options[0].id"),
    ("send", {"option_id": "BAD"}, "option_id"),
    ("reject", {"reason": "because BAD"}, "reason"),
    ("accept", {"offer_id": "BAD"}, "offer_id"),
    ("hello", {"token": "BAD"}, "token"),
    ("hello", {"resume": {"kBAD": 1}}, "resume"),
    ("invite", {"queue": "BAD"}, "queue"),
    ("accept_invitation", {"invitation_id": "iBAD"}, "invitation_id"),
    ("presence", {"state": "BAD"}, "state"),
    ("ping", {"extra": "BAD"}, "extra"),
    ("ping", {"extra": {"deep": [1, "BAD"]}}, "extra.deep[1]"),
    ("ping", {"BAD": 1}, None),
]


@pytest.mark.parametrize("bad", BAD_CHARS, ids=repr)
@pytest.mark.parametrize(("frame_type", "changes", "path"), BAD_STRING_PLACES)
def test_nul_or_lone_surrogate_in_any_string_is_invalid_value(frame_type: str, changes: dict[str, object],
                                                               path: str | None, bad: str) -> None:
    escaped = variant(frame_type, **changes).replace("BAD", json.dumps(bad)[1:-1])
    assert escaped.isascii()
    for raw in (escaped, escaped.encode()):
        error = assert_error(raw, "invalid_value", path)
        assert encode(error.to_event())


@pytest.mark.parametrize("bad", BAD_CHARS[1:], ids=repr)
def test_surrogate_code_point_in_a_str_frame_is_invalid_value(bad: str) -> None:
    raw = json.dumps(VALID["send"] | {"text": f"a{bad}b"}, ensure_ascii=False)
    assert bad in raw
    assert_error(raw, "invalid_value", "text")


def test_surrogate_encoded_as_utf8_bytes_is_bad_frame() -> None:
    raw = json.dumps(VALID["send"] | {"text": "a\ud800b"}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert_error(raw, "bad_frame", None)


def test_reversed_surrogate_pair_is_invalid_value() -> None:
    assert_error(variant("send", text="\udc00\ud800"), "invalid_value", "text")


def test_escaped_surrogate_pair_is_one_character() -> None:
    raw = variant("send", text="😀")
    assert "\\ud83d\\ude00" in raw
    assert parse_frame(raw) == Send(client_id="c1", text="😀")


def test_invalid_utf8_is_ignored_only_inside_ignored_fields() -> None:
    assert parse_frame(b'{"type": "ping", "x": "\xc3"}') == Ping()
    assert_error(b'{"type": "ping", "x": "\xc3", "y": "\\u0000"}', "bad_frame", None)


def test_escaped_backslash_before_u0000_is_not_nul() -> None:
    assert parse_frame(variant("send", text="\\u0000")) == Send(client_id="c1", text="\\u0000")


def test_nul_is_found_next_to_an_escaped_backslash() -> None:
    assert_error(variant("send", text="\\u0000 and \x00"), "invalid_value", "text")


# --- ref ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "ref"), [
    (variant("send", client_id="c9", seq=1, text=5), "c9"),
    (variant("send", client_id="c9", text=""), "c9"),
    (variant("send", client_id="c9", text="x" * (MAX_TEXT_CHARS + 1)), "c9"),
    (variant("send", client_id="c9", text="\x00"), "c9"),
    (variant("send", client_id="c9", attachments=["a"] * 6), "c9"),
    (variant("send", client_id="c9", options=[{"id": "a", "label": "A"}] * 2), "c9"),
    (variant("send", client_id="x" * 201), "x" * 201),
    (variant("reject", offer_id="o9", reason=1), "o9"),
    (variant("accept", offer_id=""), ""),
    (variant("decline_invitation", invitation_id=5, offer_id="o9"), "o9"),
    (variant("decline_invitation", invitation_id="i9", extra="\ud800"), "i9"),
    (frame(type="nope", client_id="c9", offer_id="o9", invitation_id="i9"), "c9"),
    (frame(type="nope", client_id=1, offer_id="o9", invitation_id="i9"), "o9"),
    (frame(type="nope", client_id=None, offer_id=None, invitation_id="i9"), "i9"),
    (frame(client_id="c9"), "c9"),
    (frame(type=1, offer_id="o9"), "o9"),
])
def test_error_ref_is_client_id_else_offer_id_else_invitation_id(raw: str, ref: str | None) -> None:
    assert error_of(raw).ref == ref


@pytest.mark.parametrize("raw", [
    frame(type="read", seq="x"),
    frame(type="read", seq=-1, conversation_id="k1", client_id=1, offer_id=["o"], invitation_id={}),
    '[{"client_id": "c9"}]',
    '{"client_id": "c9"',
])
def test_error_ref_is_none_without_a_string_ref(raw: str) -> None:
    assert error_of(raw).ref is None


def test_error_ref_is_none_when_it_holds_a_lone_surrogate() -> None:
    error = assert_error(variant("send", client_id="c\ud800"), "invalid_value", "client_id")
    assert error.ref is None
    assert encode(error.to_event())


# --- msgspec message mapping --------------------------------------------------------------

@pytest.mark.parametrize(("message", "head", "field"), [
    ("Object missing required field `offer_id`", "Object missing required field `offer_id`", None),
    ("Object missing required field `label` - at `$.options[1]`", "Object missing required field `label`",
     "options[1]"),
    ("Expected `int`, got `str` - at `$.seq`", "Expected `int`, got `str`", "seq"),
    ("Expected `int` >= 0 - at `$.seq`", "Expected `int` >= 0", "seq"),
    ("Expected `str` of length <= 10000 - at `$.text`", "Expected `str` of length <= 10000", "text"),
    ("Expected `array` of length <= 5 - at `$.attachments`", "Expected `array` of length <= 5", "attachments"),
    ("Expected `str` of length >= 1 - at `$.options[1].label`", "Expected `str` of length >= 1",
     "options[1].label"),
    ("Expected `int` >= 0 - at `$.resume[...]`", "Expected `int` >= 0", "resume"),
    ("Expected `str` of length >= 1 - at `key` in `$.resume`", "Expected `str` of length >= 1", "resume"),
    ("Invalid enum value 'busy' - at `$.state`", "Invalid enum value 'busy'", "state"),
    ("Invalid enum value 'x - at `$.seq`' - at `$.state`", "Invalid enum value 'x - at `$.seq`'", "state"),
    ("Invalid value 'read' - at `$.type`", "Invalid value 'read'", "type"),
    ("Number out of range - at `$.seq`", "Number out of range", "seq"),
    ("Expected `object`, got `array`", "Expected `object`, got `array`", None),
    ("Expected `object`, got `array` - at `$`", "Expected `object`, got `array`", None),
])
def test_validation_message_splits_into_text_and_field_path(message: str, head: str, field: str | None) -> None:
    assert _split_validation_message(message) == (head, field)


@pytest.mark.parametrize(("raw", "field"), [
    (variant("accept", offer_id=...), None),
    (variant("send", options=[{"id": "a", "label": "A"}, {"id": "b"}]), "options[1]"),
    (variant("read", seq="3"), "seq"),
    (variant("read", seq=-1), "seq"),
    (variant("send", text="x" * (MAX_TEXT_CHARS + 1)), "text"),
    (variant("send", attachments=["a"] * 6), "attachments"),
    (variant("send", options=[{"id": "a", "label": "A"}, {"id": "b", "label": ""}]), "options[1].label"),
    (variant("hello", resume={"k1": -1}), "resume"),
    (variant("hello", resume={"": 1}), "resume"),
    (variant("presence", state="busy"), "state"),
    ('{"type": "read", "conversation_id": "k1", "seq": 1e400}', "seq"),
])
def test_msgspec_messages_have_the_format_the_mapping_expects(raw: str, field: str | None) -> None:
    # A canary for msgspec upgrades: the messages parse_frame maps still carry their path.
    with pytest.raises(msgspec.ValidationError) as info:
        _decoder.decode(raw)
    assert _split_validation_message(str(info.value))[1] == field


# --- encode -------------------------------------------------------------------------------

def test_encode_gives_compact_json_text() -> None:
    event: dict[str, object] = {"type": "ack", "client_id": "c1", "seq": 3, "private": False, "x": None}
    text = encode(event)
    assert isinstance(text, str)
    assert text == '{"type":"ack","client_id":"c1","seq":3,"private":false,"x":null}'


def test_encode_writes_utc_times_with_z() -> None:
    at = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    assert encode({"at": at}) == '{"at":"2024-05-01T12:30:00Z"}'


def test_encode_keeps_non_ascii_and_nul_readable_by_clients() -> None:
    assert json.loads(encode({"text": "ünï 😀 \x00"})) == {"text": "ünï 😀 \x00"}


def test_error_events_encode() -> None:
    error = error_of(frame(type="nope\ud800"))
    assert json.loads(encode(error.to_event()))["code"] == "invalid_value"


# --- nothing but ProtocolError ------------------------------------------------------------

def check_outcome(raw: str | bytes) -> None:
    """``parse_frame`` returns a command or raises a ProtocolError that can be sent back."""
    try:
        command = parse_frame(raw)
    except ProtocolError as error:
        assert error.code in ERROR_CODES
        assert error.ref is None or isinstance(error.ref, str)
        json.loads(encode(error.to_event()))
    else:
        assert type(command).__name__ in {cls.__name__ for cls in (
            Hello, Ping, Presence, Accept, Reject, Send, Read, Typing, Invite, AcceptInvitation,
            DeclineInvitation, Leave, End, SetStatus, Transfer, AcceptTransfer, DeclineTransfer, Monitor,
            Unmonitor, Join, TakeOver, Reassign, SetAgentPresence)}


any_char = st.characters(exclude_categories=())  # surrogates included
any_text = st.text(any_char, max_size=20) | st.sampled_from(["", "\x00", "\ud800", "x" * 201, "a" * 10_001])
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | any_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=6)
                           | st.dictionaries(any_text, inner, max_size=4), max_leaves=20)
FIELD_NAMES = sorted({name for fields in VALID.values() for name in fields} | {
    "resume", "reason", "text", "conversation_id", "private", "attachments", "options", "option_id",
    "agent_id", "queue", "transcript_email", "client_id", "id", "label"})
frame_types = st.sampled_from(sorted(FRAME_TYPES)) | any_text | json_scalars
schema_like = st.builds(
    lambda t, fields: {"type": t, **fields},
    frame_types,
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6),
)


def serialise(obj: object, ascii_only: bool) -> str:
    return json.dumps(obj, ensure_ascii=ascii_only)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_protocol_error(raw: bytes) -> None:
    check_outcome(raw)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(any_char, max_size=300))
def test_random_text_never_raises_anything_but_protocol_error(raw: str) -> None:
    check_outcome(raw)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.booleans())
def test_random_json_never_raises_anything_but_protocol_error(obj: object, ascii_only: bool) -> None:
    raw = serialise(obj, ascii_only)
    check_outcome(raw)
    check_outcome(raw.encode("utf-8", "surrogatepass"))


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(schema_like, st.booleans())
def test_random_frames_with_protocol_fields_never_raise_anything_but_protocol_error(
        obj: dict[str, object], ascii_only: bool) -> None:
    raw = serialise(obj, ascii_only)
    check_outcome(raw)
    check_outcome(raw.encode("utf-8", "surrogatepass"))


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VALID)), st.sampled_from(FIELD_NAMES), json_values)
def test_valid_frames_with_one_field_replaced_never_raise_anything_but_protocol_error(
        frame_type: str, field: str, value: object) -> None:
    check_outcome(variant(frame_type, **{field: value}))


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VALID)), st.data())
def test_valid_frames_with_bytes_overwritten_never_raise_anything_but_protocol_error(
        frame_type: str, data: st.DataObject) -> None:
    raw = bytearray(variant(frame_type, client_id="c1", text="hi \\u0000 there").encode())
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        raw[data.draw(st.integers(min_value=0, max_value=len(raw) - 1))] = data.draw(st.integers(0, 255))
    check_outcome(bytes(raw))
