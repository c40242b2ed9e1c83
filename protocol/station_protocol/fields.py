"""Strict field readers used by message decoders; each error names the field path."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .errors import MalformedMessage

JsonObject = Mapping[str, Any]


def obj(data: Any, where: str) -> JsonObject:
    if not isinstance(data, dict):
        raise MalformedMessage(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def text(data: JsonObject, key: str, where: str, max_len: int = 256) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedMessage(f"{where}.{key}: expected a string")
    if len(value) > max_len:
        raise MalformedMessage(f"{where}.{key}: longer than {max_len} characters")
    return value


def opt_text(data: JsonObject, key: str, where: str, max_len: int = 2048) -> Optional[str]:
    if data.get(key) is None:
        return None
    return text(data, key, where, max_len)


def integer(data: JsonObject, key: str, where: str, minimum: int = 0) -> int:
    value = data.get(key)
    # bool is an int subclass in Python; on the wire it is not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedMessage(f"{where}.{key}: expected an integer")
    if value < minimum:
        raise MalformedMessage(f"{where}.{key}: must be >= {minimum}")
    return value


def number(data: JsonObject, key: str, where: str, minimum: float = 0.0) -> float:
    value = data.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise MalformedMessage(f"{where}.{key}: expected a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise MalformedMessage(f"{where}.{key}: must be finite")
    if value < minimum:
        raise MalformedMessage(f"{where}.{key}: must be >= {minimum}")
    return float(value)


def opt_number(data: JsonObject, key: str, where: str, minimum: float = -1e18) -> Optional[float]:
    if data.get(key) is None:
        return None
    return number(data, key, where, minimum)


def boolean(data: JsonObject, key: str, where: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise MalformedMessage(f"{where}.{key}: expected true or false")
    return value


def choice(data: JsonObject, key: str, where: str, allowed: frozenset[str]) -> str:
    value = text(data, key, where)
    if value not in allowed:
        raise MalformedMessage(f"{where}.{key}: {value!r} not one of {sorted(allowed)}")
    return value


def mapping(data: JsonObject, key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    return dict(obj(value, f"{where}.{key}"))


def text_list(data: JsonObject, key: str, where: str, max_items: int = 64) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > max_items:
        raise MalformedMessage(f"{where}.{key}: expected a list of at most {max_items} strings")
    if not all(isinstance(item, str) and len(item) <= 64 for item in value):
        raise MalformedMessage(f"{where}.{key}: every item must be a string of <= 64 characters")
    return tuple(value)
