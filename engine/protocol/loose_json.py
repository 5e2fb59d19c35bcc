"""JSON read the forgiving way, to say what is wrong with a frame or a body that the strict decoders
(msgspec, orjson) refused: a lone surrogate, a number past a double, a NUL, where it sits.

``loads`` is the standard decoder with every object's pairs kept (``JSONObject``: a key given
twice keeps its last value in the dict, but the first is still looked at), NaN and Infinity
refused, and an integer longer than Python converts read as a float (infinity), so that its field
is named like any number out of range. ``first_value`` finds the first value or key that a test
picks and its path, without recursion: deep nesting cannot overflow the stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable

MAX_INT_DIGITS = 4000     # under Python's default limit of 4300 for int(str)


class JSONObject(dict[str, object]):
    """A JSON object as the standard decoder read it, remembering every pair."""

    def __init__(self, pairs: list[tuple[str, object]]):
        super().__init__(pairs)
        self.pairs = pairs


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else float(digits)


def loads(text: str) -> object:
    """Raises ``ValueError`` (not JSON, NaN, Infinity) and ``RecursionError`` (nested too deeply)."""
    return json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, object_pairs_hook=JSONObject)


def first_value(obj: dict[str, object], wanted: Callable[[object], bool]) -> tuple[object, str | None] | None:
    """The first value or object key (depth first, in order) for which ``wanted`` holds, with its
    path (``a.b[2].c``); a key is reported at the path of its object (None at the top level)."""
    stack: list[tuple[object, str | None, bool]] = [(obj, None, False)]
    while stack:
        value, path, is_key = stack.pop()
        if isinstance(value, dict) and not is_key:
            children: list[tuple[object, str | None, bool]] = []
            for key, child in (value.pairs if isinstance(value, JSONObject) else value.items()):
                children.append((key, path, True))
                children.append((child, key if path is None else f"{path}.{key}", False))
            stack.extend(reversed(children))
        elif isinstance(value, list) and not is_key:
            stack.extend((value[i], f"{path}[{i}]", False) for i in range(len(value) - 1, -1, -1))
        elif wanted(value):
            return value, path
    return None
