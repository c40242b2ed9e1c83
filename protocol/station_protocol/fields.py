"""Strict field readers used by message decoders; each error names the field path and the bound."""

from __future__ import annotations

import sys
from typing import Any, Mapping, Optional

from . import bounds as b
from .errors import MalformedMessage, OutOfRange, TooManyItems

JsonObject = Mapping[str, Any]
_FLOAT_MAX = sys.float_info.max


def obj(data: Any, where: str) -> JsonObject:
    if not isinstance(data, dict):
        raise MalformedMessage(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def text(data: JsonObject, key: str, where: str, max_len: int = 256, *, kind: str = "line") -> str:
    """A string of at most ``max_len`` characters of class ``kind`` (bounds: text, line, token)."""
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedMessage(f"{where}.{key}: expected a string")
    if b.string_ok(value, max_len, kind):
        return value
    return b.check_string(value, f"{where}.{key}", max_chars=max_len, kind=kind)


def token(data: JsonObject, key: str, where: str, max_len: int = 64) -> str:
    """A non-empty identifier: no whitespace, control or invisible characters."""
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedMessage(f"{where}.{key}: expected a string")
    if b.string_ok(value, max_len, "token", 1):
        return value
    return b.check_string(value, f"{where}.{key}", max_chars=max_len, kind="token", min_chars=1)


def opt_text(data: JsonObject, key: str, where: str, max_len: int = 2048) -> Optional[str]:
    """Optional free text (``\\t``, ``\\n``, ``\\r`` allowed, other controls not)."""
    if data.get(key) is None:
        return None
    return text(data, key, where, max_len, kind="text")


def integer(data: JsonObject, key: str, where: str, minimum: int = 0, maximum: int = b.INT64_MAX) -> int:
    value = data.get(key)
    # bool is an int subclass in Python; on the wire it is not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedMessage(f"{where}.{key}: expected an integer")
    if minimum <= value <= maximum:  # the hot path builds no field path
        return value
    return b.check_int(value, f"{where}.{key}", minimum, maximum)


def number(
    data: JsonObject, key: str, where: str, minimum: float = 0.0, maximum: float = _FLOAT_MAX
) -> float:
    value = data.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise MalformedMessage(f"{where}.{key}: expected a number")
    if type(value) is float and minimum <= value <= maximum:  # NaN fails this, so does inf
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise OutOfRange(f"{where}.{key}: outside [{minimum!r}, {maximum!r}]")
    return b.check_float(float(value), f"{where}.{key}", minimum, maximum)


def opt_number(
    data: JsonObject, key: str, where: str, minimum: float = -1e18, maximum: float = _FLOAT_MAX
) -> Optional[float]:
    if data.get(key) is None:
        return None
    return number(data, key, where, minimum, maximum)


def boolean(data: JsonObject, key: str, where: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise MalformedMessage(f"{where}.{key}: expected true or false")
    return value


def choice(data: JsonObject, key: str, where: str, allowed: frozenset[str]) -> str:
    value = text(data, key, where, 64)
    if value not in allowed:
        raise MalformedMessage(f"{where}.{key}: {value!r} not one of {sorted(allowed)}")
    return value


def mapping(data: JsonObject, key: str, where: str, limits: b.Tree = b.CONFIG) -> dict[str, Any]:
    """A free-form object (absent means empty) within the field's depth, element and string limits."""
    value = data.get(key, {})
    result = dict(obj(value, f"{where}.{key}"))
    b.check_tree(result, f"{where}.{key}", limits)
    return result


def text_list(
    data: JsonObject, key: str, where: str, max_items: int = 64, item_len: int = 64
) -> tuple[str, ...]:
    """A list (absent means empty) of at most ``max_items`` tokens."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise MalformedMessage(f"{where}.{key}: expected a list of strings")
    if len(value) > max_items:
        raise TooManyItems(f"{where}.{key}: {len(value)} elements; limit {max_items}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise MalformedMessage(f"{where}.{key}[{index}]: expected a string")
        b.check_string(item, f"{where}.{key}[{index}]", max_chars=item_len, kind="token", min_chars=1)
    return tuple(value)
