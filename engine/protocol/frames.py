"""The websocket schema layer: one text frame in, one typed command out (PROTOCOL.md §4).

``parse_frame`` is the only place where a client frame is decoded and validated. Every
client frame type is a frozen ``msgspec.Struct`` tagged by its ``type`` field, and
``Command`` is their union, so the happy path is a single
``msgspec.json.decode(raw, type=Command)`` plus a substring test for ``\\u0000``. Only a
frame that fails is decoded a second time (loosely) to classify the failure as a
``ProtocolError`` with the code and field of PROTOCOL.md. ``parse_frame`` raises nothing
else, whatever bytes it is given.

``encode`` turns every server event into the text of a frame (orjson).

Decisions where the brief leaves room:

* Strings that PostgreSQL cannot store — a NUL character or a lone UTF-16 surrogate —
  are ``invalid_value`` with the JSON path of the string, wherever they are in the frame
  (also in ignored unknown fields and in object keys, e.g. a ``resume`` key is reported
  as ``resume``). msgspec refuses an escaped lone surrogate (``"\\ud800"``) while
  decoding; the error path re-reads the frame with the standard ``json`` module, which
  accepts it, and so reports it as ``invalid_value`` with its field like a NUL. A
  ``str`` frame carrying a surrogate code point is treated the same way. Bytes that are
  not valid UTF-8 (also a surrogate encoded as UTF-8 bytes) are ``bad_frame``; msgspec
  does not look into the strings of ignored fields, so there they are ignored too
  (websocket text frames are valid UTF-8 anyway).
* Ids (``client_id``, ``conversation_id``, ``offer_id``, ``invitation_id``, ``transfer_id``, ``agent_id``,
  ``option_id``, attachment ids, option ids, ``resume`` keys) and ``queue`` are non-empty
  strings of at most 200 characters; their format is not checked.
* ``seq`` and the ``resume`` values are ints from 0 to 2**31 - 1 (``messages.seq`` is a
  PostgreSQL ``integer``).
* ``token`` is any string (an empty or wrong one is the engine's ``unauthenticated``).
* ``unknown_type`` and the ``type`` errors carry ``field="type"``.
* A frame longer than ``MAX_FRAME_BYTES`` is refused as ``too_long`` without being parsed
  (so without ``ref``). The transport is expected to have closed the socket with 1009
  already; this is a backstop that counts characters for ``str`` input, which never
  exceeds the byte length.
* JSON nested too deeply for the decoder (``RecursionError``) is ``bad_frame``. An integer of
  thousands of digits is JSON (the grammar sets no limit): like any number out of range it is
  ``invalid_value`` with its field.
* ``transfer.note`` is optional text of at most ``MAX_TEXT_CHARS`` characters; an empty or blank
  note is no note.
* ``Send``, ``Invite`` and ``Transfer`` check their cross-field rules in ``__post_init__``, so building
  them in Python with invalid values raises ``ProtocolError`` too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, TypeAlias, get_args

import msgspec
import orjson
from msgspec import Meta, Struct

from frontdesk.core.errors import ProtocolError
from frontdesk.engine.protocol import loose_json

__all__ = [
    "FRAME_TYPES",
    "MAX_ATTACHMENTS",
    "MAX_FRAME_BYTES",
    "MAX_ID_CHARS",
    "MAX_REASON_CHARS",
    "MAX_SEQ",
    "MAX_TEXT_CHARS",
    "SUPERVISOR_FRAMES",
    "Accept",
    "AcceptInvitation",
    "AcceptTransfer",
    "Command",
    "DeclineInvitation",
    "DeclineTransfer",
    "End",
    "Hello",
    "Invite",
    "Join",
    "Leave",
    "Monitor",
    "OptionItem",
    "Ping",
    "Presence",
    "Read",
    "Reassign",
    "Reject",
    "Send",
    "SetAgentPresence",
    "SetStatus",
    "TakeOver",
    "Transfer",
    "Typing",
    "Unmonitor",
    "command_ref",
    "command_type",
    "encode",
    "parse_frame",
]

MAX_FRAME_BYTES: Final = 64 * 1024
MAX_TEXT_CHARS: Final = 10_000
MAX_ATTACHMENTS: Final = 5
MAX_ID_CHARS: Final = 200
MAX_REASON_CHARS: Final = 1000
MIN_OPTIONS: Final = 2
MAX_OPTIONS: Final = 10
MAX_SEQ: Final = 2**31 - 1

# Constrained scalar types, checked by msgspec while decoding.
Id: TypeAlias = Annotated[str, Meta(min_length=1, max_length=MAX_ID_CHARS)]
Seq: TypeAlias = Annotated[int, Meta(ge=0, le=MAX_SEQ)]
Text: TypeAlias = Annotated[str, Meta(max_length=MAX_TEXT_CHARS)]
Reason: TypeAlias = Annotated[str, Meta(max_length=MAX_REASON_CHARS)]


class OptionItem(Struct, frozen=True, kw_only=True):
    """One choice of an agent's options message."""

    id: Id
    label: Id


Options: TypeAlias = Annotated[list[OptionItem], Meta(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)]
Attachments: TypeAlias = Annotated[list[Id], Meta(max_length=MAX_ATTACHMENTS)]


class _Frame(Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of the client frames: the class's tag is the frame's ``type``.

    msgspec inherits ``frozen``/``kw_only``; the subclasses repeat them for mypy.
    """


class Hello(_Frame, tag="hello", frozen=True, kw_only=True):
    token: str
    resume: dict[Id, Seq] | None = None


class Ping(_Frame, tag="ping", frozen=True, kw_only=True):
    pass


class Presence(_Frame, tag="presence", frozen=True, kw_only=True):
    state: Literal["available", "away"]


class Accept(_Frame, tag="accept", frozen=True, kw_only=True):
    offer_id: Id


class Reject(_Frame, tag="reject", frozen=True, kw_only=True):
    offer_id: Id
    reason: Reason | None = None


class Send(_Frame, tag="send", frozen=True, kw_only=True):
    client_id: Id
    text: Text = ""
    conversation_id: Id | None = None
    private: bool = False
    attachments: Attachments = []
    options: Options | None = None
    option_id: Id | None = None

    def __post_init__(self) -> None:
        if self.options is not None and len({option.id for option in self.options}) != len(self.options):
            raise ProtocolError("invalid_value", "the ids of 'options' must be unique", field="options",
                                ref=_usable_ref(self.client_id))
        if not self.text and not self.attachments and self.option_id is None:
            raise ProtocolError("missing_field", "a message needs 'text', 'attachments' or 'option_id'",
                                field="text", ref=_usable_ref(self.client_id))


class Read(_Frame, tag="read", frozen=True, kw_only=True):
    conversation_id: Id
    seq: Seq


class Typing(_Frame, tag="typing", frozen=True, kw_only=True):
    conversation_id: Id


class Invite(_Frame, tag="invite", frozen=True, kw_only=True):
    conversation_id: Id
    agent_id: Id | None = None
    queue: Id | None = None

    def __post_init__(self) -> None:
        _one_target(self.agent_id, self.queue, "an invitation")


def _one_target(agent_id: str | None, queue: str | None, what: str) -> None:
    if agent_id is None and queue is None:
        raise ProtocolError("missing_field", f"{what} needs 'agent_id' or 'queue'", field="agent_id")
    if agent_id is not None and queue is not None:
        raise ProtocolError("invalid_value", "give 'agent_id' or 'queue', not both", field="queue")


class Transfer(_Frame, tag="transfer", frozen=True, kw_only=True):
    """The owner hands the conversation to a colleague or a queue (PROTOCOL.md §8)."""

    conversation_id: Id
    agent_id: Id | None = None
    queue: Id | None = None
    note: Text | None = None

    def __post_init__(self) -> None:
        _one_target(self.agent_id, self.queue, "a transfer")


class AcceptTransfer(_Frame, tag="accept_transfer", frozen=True, kw_only=True):
    transfer_id: Id


class DeclineTransfer(_Frame, tag="decline_transfer", frozen=True, kw_only=True):
    transfer_id: Id


class AcceptInvitation(_Frame, tag="accept_invitation", frozen=True, kw_only=True):
    invitation_id: Id


class DeclineInvitation(_Frame, tag="decline_invitation", frozen=True, kw_only=True):
    invitation_id: Id


class Leave(_Frame, tag="leave", frozen=True, kw_only=True):
    conversation_id: Id


class End(_Frame, tag="end", frozen=True, kw_only=True):
    conversation_id: Id | None = None
    transcript_email: bool = False


class SetStatus(_Frame, tag="set_status", frozen=True, kw_only=True):
    """The owner sets a messaging conversation aside (PROTOCOL.md §7)."""

    conversation_id: Id
    status: Literal["pending", "resolved"]


# ---- supervisors (PROTOCOL.md §8): refused to every other token -----------------------------

class Monitor(_Frame, tag="monitor", frozen=True, kw_only=True):
    """Watch a conversation without taking part: ``conversation``, then its live events."""

    conversation_id: Id


class Unmonitor(_Frame, tag="unmonitor", frozen=True, kw_only=True):
    conversation_id: Id


class Join(_Frame, tag="join", frozen=True, kw_only=True):
    """The supervisor takes part in the conversation (as invited, announced by name)."""

    conversation_id: Id


class TakeOver(_Frame, tag="take_over", frozen=True, kw_only=True):
    """The supervisor becomes the owner; the old owner stays in as invited."""

    conversation_id: Id


class Reassign(_Frame, tag="reassign", frozen=True, kw_only=True):
    """The conversation goes to ``agent_id`` without asking (a transfer that needs no acceptance)."""

    conversation_id: Id
    agent_id: Id


class SetAgentPresence(_Frame, tag="set_agent_presence", frozen=True, kw_only=True):
    agent_id: Id
    state: Literal["available", "away"]


Command: TypeAlias = (
    Hello | Ping | Presence | Accept | Reject | Send | Read | Typing | Invite | AcceptInvitation
    | DeclineInvitation | Leave | End | SetStatus | Transfer | AcceptTransfer | DeclineTransfer
    | Monitor | Unmonitor | Join | TakeOver | Reassign | SetAgentPresence
)

# The frames only a supervisor's socket may send.
SUPERVISOR_FRAMES: Final = (Monitor, Unmonitor, Join, TakeOver, Reassign, SetAgentPresence)

FRAME_TYPES: Final[frozenset[str]] = frozenset(
    str(cls.__struct_config__.tag) for cls in get_args(Command)
)

_decoder: Final = msgspec.json.Decoder(Command)
_NUL_ESCAPE_BYTES: Final = b"\\u0000"
_NUL_ESCAPE_STR: Final = "\\u0000"
_REF_FIELDS: Final = ("client_id", "offer_id", "invitation_id", "transfer_id")


def parse_frame(raw: str | bytes) -> Command:
    """Decode one websocket text frame into its command; raise ``ProtocolError`` if it is bad."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError("too_long", f"a frame may have at most {MAX_FRAME_BYTES} bytes")
    try:
        command = _decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:  # ValidationError included
        raise _classify(raw, exc) from None
    # The only way to write NUL in JSON text is the escape (raw control characters are
    # invalid JSON), so one substring scan covers every string of the frame. A hit may be a
    # false alarm (an escaped backslash followed by "u0000"); the slow path finds out.
    if (_NUL_ESCAPE_STR in raw) if isinstance(raw, str) else (_NUL_ESCAPE_BYTES in raw):
        _check_strings(raw, command)
    return command


def encode(event: Mapping[str, Any]) -> str:
    """The text of the frame for a server event (UTC datetimes end in ``Z``)."""
    return orjson.dumps(event, option=orjson.OPT_UTC_Z).decode()


def command_ref(command: Command) -> str | None:
    """What an ``error`` about ``command`` echoes as ``ref``: its client_id, offer_id, invitation_id or
    transfer_id."""
    for name in _REF_FIELDS:
        value = getattr(command, name, None)
        if isinstance(value, str):
            return value
    return None


def command_type(command: Command) -> str:
    """The wire ``type`` of a command (e.g. ``"accept_invitation"``)."""
    return str(command.__struct_config__.tag)


# --- the error path -----------------------------------------------------------------------

# msgspec ends a ValidationError message with " - at `$.path`" or, for a bad dict key,
# " - at `key` in `$.path`"; anchored at the end so a quoted value cannot fake it.
_AT_RE: Final = re.compile(r" - at `(?P<path>[^`]*)`(?: in `(?P<container>[^`]*)`)?\Z")
_MISSING_RE: Final = re.compile(r"\AObject missing required field `(?P<name>[^`]+)`")
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
_MAX_QUOTED: Final = 60


class _NotJSON(Exception):
    """The frame is not JSON text at all."""


def _classify(raw: str | bytes, exc: Exception) -> ProtocolError:
    """The ``ProtocolError`` for a frame that the typed decoder refused with ``exc``."""
    try:
        obj = _loose_decode(raw)
    except _NotJSON as why:
        return _error("bad_frame", f"the frame is not valid JSON: {why}")
    if not isinstance(obj, dict):
        return _error("bad_frame", "a frame must be a JSON object")
    ref = _ref_of(obj)
    if "type" not in obj:
        return _error("missing_field", "the frame has no 'type'", field="type", ref=ref)
    frame_type = obj["type"]
    if not isinstance(frame_type, str):
        return _error("invalid_value", "'type' must be a string", field="type", ref=ref)
    found, path = _find_bad_string(obj)
    if found:
        return _bad_string_error(path, ref)
    if frame_type not in FRAME_TYPES:
        return _error("unknown_type", f"unknown frame type {_quote(frame_type)}", field="type", ref=ref)
    if isinstance(exc, msgspec.ValidationError):
        return _from_validation_error(str(exc), obj, ref)
    if isinstance(exc, RecursionError):
        return _error("bad_frame", "the frame is nested too deeply", ref=ref)
    return _error("bad_frame", f"the frame is not valid JSON: {exc}", ref=ref)


def _check_strings(raw: str | bytes, command: Command) -> None:
    """Raise ``invalid_value`` if a string of the decoded frame ``raw`` holds a NUL."""
    try:
        obj = _loose_decode(raw)
    except _NotJSON as why:  # invalid UTF-8 in an ignored field, which msgspec skipped
        ref = next((value for name in _REF_FIELDS if isinstance(value := getattr(command, name, None), str)),
                   None)
        raise _error("bad_frame", f"the frame is not valid JSON: {why}", ref=ref) from None
    if isinstance(obj, dict):
        found, path = _find_bad_string(obj)
        if found:
            raise _bad_string_error(path, _ref_of(obj))


def _from_validation_error(message: str, obj: dict[str, object], ref: str | None) -> ProtocolError:
    """Map a msgspec ``ValidationError`` message to the protocol's code and field path."""
    head, field = _split_validation_message(message)
    missing = _MISSING_RE.match(head)
    if missing is not None:
        name = missing["name"]
        field = name if field is None else f"{field}.{name}"
        return _error("missing_field", f"missing required field {_quote(field)}", field=field, ref=ref)
    value = obj.get(field.partition("[")[0].partition(".")[0]) if field is not None else None
    if field == "text" and isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return _error("too_long", f"'text' may have at most {MAX_TEXT_CHARS} characters", field="text",
                      ref=ref)
    if (field is not None and field.startswith("attachments") and isinstance(value, list)
            and len(value) > MAX_ATTACHMENTS):
        return _error("too_many_attachments", f"at most {MAX_ATTACHMENTS} attachments per message",
                      field="attachments", ref=ref)
    where = "the frame" if field is None else _quote(field)
    return _error("invalid_value", f"invalid value for {where}: {head}", field=field, ref=ref)


def _split_validation_message(message: str) -> tuple[str, str | None]:
    """Split a msgspec message into its text and the field path (``None`` for the frame).

    ``"Expected `int`, got `str` - at `$.seq`"`` gives ``("Expected `int`, got `str`", "seq")``,
    ``$.options[1].label`` gives ``options[1].label``, ``$.resume[...]`` and
    ``key in $.resume`` give ``resume``.
    """
    match = _AT_RE.search(message)
    if match is None:
        return message, None
    path = match["container"] or match["path"]
    if not path.startswith("$"):
        return message[: match.start()], None
    field = path[1:].replace("[...]", "").lstrip(".")
    return message[: match.start()], field or None


def _loose_decode(raw: str | bytes) -> object:
    """Decode any JSON, also with lone surrogates; raise ``_NotJSON`` if it is not JSON."""
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        pass  # a lone surrogate, a float out of range, too deep, or not JSON: ask the stdlib
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotJSON("it is not valid UTF-8") from None
    try:
        return loose_json.loads(text)
    except RecursionError:
        raise _NotJSON("it is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and NaN/Infinity refused below
        raise _NotJSON(_safe(str(exc))) from None


def _is_bad_string(value: str) -> bool:
    return "\x00" in value or (not value.isascii() and _SURROGATE_RE.search(value) is not None)


def _find_bad_string(obj: dict[str, object]) -> tuple[bool, str | None]:
    """The path of the first string (or object key) with NUL or a lone surrogate."""
    found = loose_json.first_value(obj, lambda v: isinstance(v, str) and _is_bad_string(v))
    return (False, None) if found is None else (True, found[1])


def _bad_string_error(path: str | None, ref: str | None) -> ProtocolError:
    where = "a field name" if path is None else _quote(path)
    return _error("invalid_value", f"{where} contains a NUL character or a lone surrogate",
                  field=path, ref=ref)


def _ref_of(obj: dict[str, object]) -> str | None:
    """The frame's ``client_id``, else ``offer_id``, else ``invitation_id``, else ``transfer_id`` (strings only)."""
    for name in _REF_FIELDS:
        value = obj.get(name)
        if isinstance(value, str):
            return _usable_ref(value)
    return None


def _usable_ref(value: str) -> str | None:
    """``value`` unless it holds a lone surrogate, which no JSON event could carry."""
    return None if not value.isascii() and _SURROGATE_RE.search(value) else value


def _quote(value: str) -> str:
    """``value`` quoted for a message: shortened, control characters and surrogates escaped."""
    if len(value) > _MAX_QUOTED:
        value = value[:_MAX_QUOTED] + "…"
    return repr(value)


def _safe(message: str) -> str:
    """``message`` with lone surrogates escaped so that ``encode`` can carry it."""
    if message.isascii() or _SURROGATE_RE.search(message) is None:
        return message
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


def _error(code: str, message: str, *, field: str | None = None, ref: str | None = None) -> ProtocolError:
    return ProtocolError(code, _safe(message), field=field, ref=ref)
