"""Hypothesis strategies of the fuzz suites (tests/unit/engine/protocol/test_frames_fuzz.py,
tests/unit/engine/edge/test_forms_fuzz.py, tests/e2e/edge/test_fuzz_e2e.py).

* Hostile JSON: values of every JSON type, strings PostgreSQL cannot store or a mail header must
  not carry, numbers no double or int64 holds, repeated keys, nesting deeper than any decoder's
  limit, and documents whose bytes are not plain UTF-8 JSON (a BOM, invalid UTF-8, a cut, a stray
  byte). A value is built from plain Python values plus two markers that ``dumps`` writes as they
  are: ``Token`` (JSON text taken verbatim: ``NaN``, ``1e999``, a 5,000-digit integer, deep nesting)
  and ``Pairs`` (an object as its key/value pairs, so that a key may repeat).
* Websocket frames (PROTOCOL.md §4) of every client type, built from the fields the type really
  has, read off its msgspec struct: a new field or frame type is fuzzed as soon as it exists.
* HTTP bodies (PROTOCOL.md §3): the pre-chat form, the offline request and the staff login.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

import msgspec.inspect as mi
from hypothesis import strategies as st

from frontdesk.engine.protocol.frames import FRAME_TYPES, Command

MAX_HUGE = 70_000   # over the 64 KiB frame limit; bodies have their own 1 MiB limit


@dataclass(frozen=True)
class Token:
    """JSON text written verbatim (possibly not JSON at all: ``NaN``)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object as its key/value pairs, in order; a key may come twice."""

    items: tuple[tuple[str, Any], ...]


def _string(value: str, ascii_only: bool) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif ascii_only and code > 0x7E:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")    # a lone surrogate stays a lone escape
        else:
            out.append(ch)                      # a lone surrogate stays a lone code point
    out.append('"')
    return "".join(out)


def dumps(value: Any, *, ascii_only: bool = True) -> str:
    """The JSON text of ``value``; with ``ascii_only=False`` non-ASCII characters (lone surrogates
    too) are written as themselves rather than escaped."""
    if isinstance(value, Token):
        return value.text
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _string(value, ascii_only)
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{_string(k, ascii_only)}:{dumps(v, ascii_only=ascii_only)}"
                              for k, v in value.items) + "}"
    if isinstance(value, dict):
        return dumps(Pairs(tuple(value.items())), ascii_only=ascii_only)
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v, ascii_only=ascii_only) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as JSON")


def to_bytes(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate becomes the three bytes no UTF-8 decoder accepts."""
    return text.encode("utf-8", "surrogatepass")


def replaced(obj: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """``obj`` with ``name`` set to ``value`` (``...`` removes it)."""
    out = {k: v for k, v in obj.items() if k != name}
    if value is not ...:
        out[name] = value
    return out


# ---- values ------------------------------------------------------------------------------------

any_char = st.characters(exclude_categories=())     # lone surrogates included
# strings that each broke some JSON or database layer somewhere: NUL, lone surrogates (alone,
# reversed, at the end), a BOM, line ends a mail header must not carry, Unicode line separators,
# whitespace only, and lengths just over each limit of PROTOCOL.md and the README
SPECIAL_STRINGS = [
    "", " ", "\t\n", "\x00", "a\x00b", "\ud800", "\udfff", "x\ud83d", "\udc00\ud800", "\ufeff", "\ufeffx",
    "a\r\nBcc: eve@example.com", "a\nb", "\r", "\u2028", "\u0085", "\x7f", "\\u0000", "💬", "e\u0301",
    "x" * 101, "x" * 129, "x" * 201, "x" * 255, "x" * 501, "x" * 1_001, "x" * 10_001,
]


@cache
def strings(*, huge: bool = True) -> st.SearchStrategy[str]:
    """Any text, the special strings above, and (``huge``) one over the frame limit."""
    special = SPECIAL_STRINGS + (["y" * MAX_HUGE] if huge else [])
    return st.text(any_char, max_size=24) | st.sampled_from(special)


# numbers past every limit: int64, uint64, PostgreSQL integer, float range, Python's digit limit
SPECIAL_NUMBERS: list[Any] = [
    0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -(10**30),
    0.5, -0.0, 1e308, 5e-324,
    Token("NaN"), Token("Infinity"), Token("-Infinity"), Token("1e999"), Token("-1e999"), Token("1E-999"),
    Token("1" * 5_000), Token("-0"), Token("1.0e+2"),
]
numbers = (st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(SPECIAL_NUMBERS))
# text that is JSON by the grammar (RFC 8259 sets no limit on a number's size) but not for Python
GRAMMAR_NUMBERS = [n for n in SPECIAL_NUMBERS if not (isinstance(n, Token) and n.text[-1].isalpha())]


def nested(depth: int) -> Token:
    return Token("[" * depth + "]" * depth)


def nested_objects(depth: int) -> Token:
    return Token('{"a":' * depth + "1" + "}" * depth)


DEEP = [nested(64), nested(1_500), nested(100_000), nested_objects(1_500)]


@cache
def json_values(*, huge: bool = True, deep: bool = True, keys: st.SearchStrategy[str] | None = None,
                grammar_only: bool = False) -> st.SearchStrategy[Any]:
    """Any JSON value, hostile leaves included. ``grammar_only`` keeps to JSON text that the
    RFC's grammar accepts (no ``NaN``), ``deep=False`` to nesting every decoder takes."""
    nums = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
        GRAMMAR_NUMBERS if grammar_only else SPECIAL_NUMBERS)
    leaves = st.none() | st.booleans() | nums | strings(huge=huge)
    if deep:
        leaves = leaves | st.sampled_from(DEEP)
    key_strategy = keys if keys is not None else strings(huge=False)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4)
        | st.builds(lambda items: Pairs(tuple(items)), st.lists(st.tuples(key_strategy, inner), max_size=4)),
        max_leaves=8)


# ---- whole documents ---------------------------------------------------------------------------

@st.composite
def documents(draw: st.DrawFn, value: Any) -> bytes:
    """The bytes of ``value`` as JSON, sometimes damaged on the way: a BOM in front, whitespace
    around it, a byte changed or added, the text cut short, or not UTF-8 JSON at all."""
    text = dumps(value, ascii_only=draw(st.booleans()))
    raw = to_bytes(text)
    damage = draw(st.sampled_from(["none"] * 6 + ["bom", "space", "byte", "insert", "cut", "binary",
                                                  "latin-1"]))
    if damage == "bom":
        return b"\xef\xbb\xbf" + raw
    if damage == "space":
        return b" \r\n\t" + raw + b"\n"
    if damage in ("byte", "insert") and raw:
        at = draw(st.integers(0, len(raw) - 1))
        byte = bytes([draw(st.integers(0, 255))])
        return raw[:at] + byte + raw[at + (damage == "byte"):]
    if damage == "cut" and raw:
        return raw[:draw(st.integers(0, len(raw) - 1))]
    if damage == "binary":
        return draw(st.binary(max_size=64))
    if damage == "latin-1":
        return text.encode("latin-1", "replace")
    return raw


# ---- websocket frames (PROTOCOL.md §4) ---------------------------------------------------------

STRUCTS: dict[str, mi.StructType] = {
    str(cls.__struct_config__.tag): mi.type_info(cls) for cls in get_args(Command)}
FIELDS: dict[str, list[str]] = {tag: [f.encode_name for f in info.fields] for tag, info in STRUCTS.items()}
ALL_FIELDS = sorted({name for names in FIELDS.values() for name in names} | {"id", "label"})

safe_char = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def valid(info: mi.Type) -> st.SearchStrategy[Any]:
    """A value of ``info`` (msgspec's view of a field's type) that the decoder accepts."""
    if isinstance(info, mi.StrType):
        low, high = info.min_length or 0, info.max_length
        # the longest value allowed, as one character repeated
        edge = [st.builds(lambda c, n=high: c * n, safe_char)] if high is not None else []
        return st.one_of(st.text(safe_char, min_size=low, max_size=max(low, min(high or 20, 20))), *edge)
    if isinstance(info, mi.IntType):
        return st.integers(min_value=info.ge, max_value=info.le)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.ListType):
        low = info.min_length or 0
        return st.lists(valid(info.item_type), min_size=low, max_size=max(low, min(info.max_length or 3, 3)))
    if isinstance(info, mi.DictType):
        return st.dictionaries(valid(info.key_type), valid(info.value_type), max_size=3)
    if isinstance(info, mi.UnionType):
        return st.one_of(*(valid(t) for t in info.types))
    if isinstance(info, mi.StructType):
        return struct_fields(info)
    raise AssertionError(f"no strategy for {info!r}: a new kind of field needs one here")


def struct_fields(info: mi.StructType) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.encode_name: valid(f.type) for f in info.fields if f.required},
                                 optional={f.encode_name: valid(f.type) for f in info.fields if not f.required})


# built once: hypothesis spends more time building a strategy than drawing from it
VALID_FIELDS = {(tag, f.encode_name): valid(f.type) for tag, info in STRUCTS.items() for f in info.fields}
VALID_FRAMES = {tag: struct_fields(info).map(lambda fields, tag=tag: {"type": tag, **fields})
                for tag, info in STRUCTS.items()}
FRAME_TYPE_VALUES = st.sampled_from(sorted(FRAME_TYPES)) | json_values(deep=False)
EXTRA_NAMES = st.sampled_from(ALL_FIELDS) | strings(huge=False)


@st.composite
def hostile_frames(draw: st.DrawFn, live: Mapping[str, st.SearchStrategy[Any]] | None = None,
                   any_value: st.SearchStrategy[Any] | None = None,
                   types: st.SearchStrategy[Any] = FRAME_TYPE_VALUES) -> Pairs:
    """A frame whose every real field is left out, valid, ``live`` (values that mean something to a
    running engine, by field name), or any JSON value at all; plus unknown fields and repeated keys
    now and then. Its ``type`` is drawn from ``types``: usually a real one."""
    live = live or {}
    any_value = any_value if any_value is not None else json_values()
    frame_type = draw(types)
    items: list[tuple[str, Any]] = [("type", frame_type)]
    known = isinstance(frame_type, str) and frame_type in STRUCTS
    names = FIELDS[frame_type] if known else draw(st.lists(st.sampled_from(ALL_FIELDS), max_size=4))
    for name in names:
        valid_value = VALID_FIELDS.get((frame_type, name)) if known else None
        choices = ["omit", "any"] + ["valid", "valid"] * (valid_value is not None) + ["live"] * 3 * (name in live)
        choice = draw(st.sampled_from(choices))
        if choice == "valid" and valid_value is not None:
            items.append((name, draw(valid_value)))
        elif choice == "live":
            items.append((name, draw(live[name])))
        elif choice == "any":
            items.append((name, draw(any_value)))
    items += draw(st.lists(st.tuples(EXTRA_NAMES, any_value), max_size=2))
    return Pairs(tuple(draw(st.permutations(items))))


@st.composite
def nearly_valid_frames(draw: st.DrawFn, live: Mapping[str, st.SearchStrategy[Any]] | None = None,
                        any_value: st.SearchStrategy[Any] | None = None,
                        types: st.SearchStrategy[str] = st.sampled_from(sorted(FRAME_TYPES))) -> Pairs:
    """A frame of a real type whose fields are valid (or ``live``: values that mean something to a
    running engine), optional ones now and then, and at most one of them left out or replaced by any
    JSON value: the frames that get past the parser to the engine's actors."""
    live = live or {}
    frame_type = draw(types)
    items: dict[str, Any] = {"type": frame_type}
    for f in STRUCTS[frame_type].fields:
        if f.required or draw(st.booleans()):
            name = f.encode_name
            choices = [VALID_FIELDS[(frame_type, name)], *([live[name]] * 2 if name in live else [])]
            items[name] = draw(st.one_of(choices))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["type", *FIELDS[frame_type]]))
        items = replaced(items, name, draw(st.just(...) | (any_value if any_value is not None else json_values())))
    return Pairs(tuple(items.items()))


# ---- HTTP bodies (PROTOCOL.md §3) --------------------------------------------------------------

plain_char = st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp"))
one_line = st.text(plain_char, min_size=1, max_size=30).filter(str.strip)
queues = st.sampled_from(["support", "sales", "after-hours", "messages"]) | st.text(
    plain_char, min_size=1, max_size=100).filter(str.strip)
emails = st.builds(lambda local, domain: f"{local}@{domain}",
                   st.text(string.ascii_lowercase + string.digits + "._+-", min_size=1, max_size=20).filter(
                       lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s),
                   st.sampled_from(["example.com", "example.co.uk", "mail.example.org", "exemple.fr"])
                   ) | st.sampled_from(["cora@example.com", "O'Brien@Example.COM", "élodie@exemple.fr"])
text_char = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
questions = st.text(text_char, min_size=1, max_size=200).filter(str.strip) | st.just("q" * 10_000)
field_values = st.text(text_char, min_size=1, max_size=40).filter(str.strip)
hmacs = st.text("0123456789abcdef", min_size=64, max_size=64)

CONTACT = {"queue": queues, "name": one_line, "email": emails, "question": questions}
IDENTITY = st.fixed_dictionaries({"email": emails, "hmac": hmacs}, optional={"name": one_line})
# the fields each body has on the wire, each with its valid values
BODIES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "chat": {**CONTACT, "fields": st.dictionaries(one_line, field_values, max_size=3), "identity": IDENTITY,
             "consent": st.booleans()},
    "offline": {**CONTACT, "consent": st.booleans()},
    "login": {"email": emails, "password": st.text(min_size=1, max_size=40)},
}
OPTIONAL = {"chat": {"fields", "identity", "consent"}, "offline": {"consent"}}
VALID_BODIES = {kind: st.fixed_dictionaries({k: v for k, v in fields.items() if k not in OPTIONAL.get(kind, set())},
                                            optional={k: fields[k] for k in OPTIONAL.get(kind, set())})
                for kind, fields in BODIES.items()}
NESTED_NAMES = {"fields": ["order", "", " ", "\x00", "a.b"], "identity": ["email", "name", "hmac"]}


def hostile_objects(name: str, *, huge: bool = False) -> st.SearchStrategy[Pairs]:
    """An object for ``fields`` or ``identity`` with hostile keys (and valid values) or hostile values."""
    keys = st.sampled_from(NESTED_NAMES[name]) | st.sampled_from(SPECIAL_STRINGS)
    hostile_keys = st.lists(st.tuples(keys, field_values), min_size=1, max_size=3)
    hostile_values = st.lists(st.tuples(st.sampled_from(NESTED_NAMES[name]), json_values(huge=huge) | field_values),
                              max_size=4)
    return (hostile_keys | hostile_values).map(lambda items: Pairs(tuple(items)))


@st.composite
def hostile_bodies(draw: st.DrawFn, kind: str, *, huge: bool = False) -> Pairs:
    """A body of ``kind`` whose every real field is left out, valid, or any JSON value, and whose
    nested objects (``fields``, ``identity``) are hostile too; plus unknown and repeated keys now
    and then."""
    any_value = json_values(huge=huge)
    items: list[tuple[str, Any]] = []
    for name, valid_value in BODIES[kind].items():
        choice = draw(st.sampled_from(["omit", "valid", "valid", "any"] + ["nested"] * (name in NESTED_NAMES)))
        if choice == "valid":
            items.append((name, draw(valid_value)))
        elif choice == "any":
            items.append((name, draw(any_value)))
        elif choice == "nested":
            items.append((name, draw(hostile_objects(name, huge=huge))))
    items += draw(st.lists(st.tuples(st.sampled_from([*BODIES[kind], "x"]), any_value), max_size=2))
    return Pairs(tuple(draw(st.permutations(items))))
