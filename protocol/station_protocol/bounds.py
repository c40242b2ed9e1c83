"""Documented bounds of protocol v1 (docs/protocol.md, "Bounds") and the checks that enforce them.

Three string classes: *text* (free text: any Unicode scalar value except C0/C1 controls and DEL, but
``\\t``, ``\\n`` and ``\\r`` allowed), *line* (text without any control character or line separator:
labels, object keys) and *token* (a line without whitespace or invisible formatting characters:
identifiers that end up in TSDB tags, log lines and URLs). No class admits a lone surrogate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import AbstractSet, Any, Mapping, Optional

from .errors import (
    BadUnicode,
    ControlCharacter,
    MalformedMessage,
    OutOfRange,
    TooDeep,
    TooLong,
    TooManyItems,
)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # registry columns (session, config versions) are 32-bit
SAFE_INT_MAX = 2**53 - 1  # counters: exact in a float64 (the TSDB stores float64, so does JavaScript)
MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant a datetime can hold
DAY_MS = 86_400_000

# Whole document: fields receivers ignore (free-form fields have their own, tighter Tree limits).
MAX_DOCUMENT_DEPTH = 16  # the envelope object itself is depth 1
MAX_ITEMS = 4096
MAX_KEY_CHARS = 128
MAX_STRING_CHARS = 8192

_SURROGATE = re.compile("[\ud800-\udfff]")
_TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# \s is Unicode whitespace; the rest are invisible format characters (soft hyphen, zero-width and
# bidirectional controls, BOM) that would make two different ids look the same to staff.
_TOKEN_BAD = re.compile(
    "[\\s\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)
_CLASSES = {"text": _TEXT_BAD, "line": _LINE_BAD, "token": _TOKEN_BAD}


@dataclass(frozen=True)
class Tree:
    """Limits of one free-form object field (``hardware``, ``detail``, ``output``, ``args``, ``config``)."""

    depth: int  # the field's own object is depth 1
    items: int  # elements of any one object or list inside it
    chars: int  # characters of any one string value inside it


HARDWARE = Tree(depth=3, items=64, chars=256)
DETAIL = Tree(depth=4, items=1024, chars=4096)
ARGS = Tree(depth=6, items=4096, chars=4096)
OUTPUT = Tree(depth=10, items=4096, chars=8192)  # ``already_applied`` wraps a stored result: 2 deeper
CONFIG = Tree(depth=8, items=4096, chars=4096)


@dataclass(frozen=True)
class TimeWindow:
    """Accepted ``ts`` relative to the receiver's clock (see docs/protocol.md for why these values)."""

    past_ms: int = 364 * DAY_MS  # inside VictoriaMetrics' 1-year retention, with a day to spare
    future_ms: int = DAY_MS  # a device stamping local time as UTC (up to +14 h) still fits

    def contains(self, ts_ms: int, now_ms: int) -> bool:
        return now_ms - self.past_ms <= ts_ms <= now_ms + self.future_ms


DEFAULT_WINDOW = TimeWindow()


def string_ok(value: str, max_chars: int, kind: str, min_chars: int = 0) -> bool:
    """The yes/no of ``check_string`` without building an error (the decoders' hot path)."""
    return min_chars <= len(value) <= max_chars and _CLASSES[kind].search(value) is None


def check_string(value: str, where: str, *, max_chars: int, kind: str = "line", min_chars: int = 0) -> str:
    """Length and character class of one string.

    Raises:
        TooLong, BadUnicode, ControlCharacter, MalformedMessage (a token with whitespace, an empty one).
    """
    if len(value) > max_chars:
        raise TooLong(f"{where}: longer than {max_chars} characters")
    bad = _CLASSES[kind].search(value)
    if bad is not None:
        _raise_for_char(bad.group(), where, kind)
    if len(value) < min_chars:
        raise MalformedMessage(f"{where}: must not be empty")
    return value


def _raise_for_char(char: str, where: str, kind: str) -> None:
    code = f"U+{ord(char):04X}"
    if _SURROGATE.match(char):
        raise BadUnicode(f"{where}: lone surrogate {code} is not a Unicode character")
    if _LINE_BAD.match(char):
        raise ControlCharacter(f"{where}: control character {code} not allowed in a {kind}")
    raise MalformedMessage(f"{where}: {code} (whitespace or invisible) not allowed in an identifier")


def check_int(value: int, where: str, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int:
    if not minimum <= value <= maximum:
        raise OutOfRange(f"{where}: {_short(value)} outside [{minimum}, {maximum}]")
    return value


def check_float(value: float, where: str, minimum: float, maximum: float) -> float:
    if not math.isfinite(value):
        raise OutOfRange(f"{where}: must be finite")
    if not minimum <= value <= maximum:
        raise OutOfRange(f"{where}: {value!r} outside [{minimum!r}, {maximum!r}]")
    return value


def _short(value: int) -> str:
    # A hostile 4,000-digit integer must not become a 4,000-character log line.
    return str(value) if -(10**30) < value < 10**30 else "a huge integer"


def check_ignored(data: Mapping[str, Any], known: AbstractSet[str], where: str, depth: int) -> None:
    """Fields a receiver does not read (forward compatibility) still keep the document's bounds.

    ``depth`` is the level of ``data`` in the document (the envelope is 1); only unknown keys are
    walked, so a well-formed message costs one set difference here.

    Raises:
        TooDeep, TooManyItems, TooLong, BadUnicode, ControlCharacter, OutOfRange.
    """
    extras = data.keys() - known
    if not extras:
        return
    limits = Tree(MAX_DOCUMENT_DEPTH - depth, MAX_ITEMS, MAX_STRING_CHARS)
    for key in sorted(extras):
        check_string(key, f"{where} key {key[:32]!r}", max_chars=MAX_KEY_CHARS, kind="line")
        _walk(data[key], f"{where}.{key}", 1, limits)


def check_tree(value: Any, where: str, limits: Tree) -> None:
    """The limits of one free-form field (its own object is depth 1).

    Raises:
        TooDeep, TooManyItems, TooLong, BadUnicode, ControlCharacter, OutOfRange.
    """
    if not _within([value], 0, limits):
        _walk(value, where, 1, limits)


def _within(container: Any, depth: int, limits: Tree) -> bool:  # noqa: C901 -- hot path, inlined
    """Fast yes/no on the hot path (no field paths built); on "no", ``_walk`` finds and names the fault.

    ``container`` (a dict or list at ``depth``) and everything in it; only containers recurse.
    """
    if depth > limits.depth or len(container) > limits.items:
        return False
    if type(container) is dict:
        if not _keys_within(container):
            return False
        container = container.values()
    for item in container:
        kind = type(item)
        if kind is str:
            if len(item) > limits.chars or _TEXT_BAD.search(item) is not None:
                return False
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is dict or kind is list:
            if not _within(item, depth + 1, limits):
                return False
        elif item is not None and kind is not bool:
            return False
    return True


def _keys_within(container: dict[str, Any]) -> bool:
    # One search over all keys at once: the character classes do not care where a key ends.
    return (
        max(map(len, container), default=0) <= MAX_KEY_CHARS and _LINE_BAD.search("".join(container)) is None
    )


def _walk(value: Any, where: str, depth: int, limits: Optional[Tree]) -> None:
    if isinstance(value, str):
        check_string(value, where, max_chars=limits.chars if limits else MAX_STRING_CHARS, kind="text")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        check_int(value, where)
    elif isinstance(value, float):
        check_float(value, where, -math.inf, math.inf)
    elif isinstance(value, dict):
        _container(value, where, depth, limits)
        for key, item in value.items():
            check_string(key, f"{where} key {key[:32]!r}", max_chars=MAX_KEY_CHARS, kind="line")
            _walk(item, f"{where}.{key}", depth + 1, limits)
    elif isinstance(value, list):
        _container(value, where, depth, limits)
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]", depth + 1, limits)
    else:
        raise MalformedMessage(f"{where}: {type(value).__name__} is not a JSON value")


def _container(value: Any, where: str, depth: int, limits: Optional[Tree]) -> None:
    max_depth = limits.depth if limits else MAX_DOCUMENT_DEPTH
    max_items = limits.items if limits else MAX_ITEMS
    if depth > max_depth:
        raise TooDeep(f"{where}: nested deeper than {max_depth} levels")
    if len(value) > max_items:
        raise TooManyItems(f"{where}: {len(value)} elements; limit {max_items}")
