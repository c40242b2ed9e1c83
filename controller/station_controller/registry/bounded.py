"""Device-supplied values made safe to store and render: bounded depth, sizes, clean text, finite numbers.

Births and samples arrive from devices; ``station_protocol`` bounds them at the edge, and this is the
second line behind it. What comes out is plain JSON that SQLite, PostgreSQL (no NUL, no lone
surrogates, no NaN in ``jsonb``) and the API serialiser (which refuses deep nesting) all accept.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1
MAX_DEPTH = 8
MAX_ITEMS = 128
MAX_CHARS = 512
CUT = "\u2026"  # marks what was left out: a deeper container, the end of a long string
# Lone surrogates cannot be encoded; NUL is refused by PostgreSQL text; other C0 controls and DEL would
# reach log lines and pages. Tab is kept.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")


def clean_text(value: str, max_chars: int = MAX_CHARS) -> str:
    """``value`` with unsafe characters replaced by U+FFFD, cut to ``max_chars``."""
    if len(value) > max_chars:
        value = value[: max_chars - 1] + CUT
    return _UNSAFE.sub("\ufffd", value)


def int_or_none(value: Any, *, low: int = 0, high: int = INT32_MAX) -> int | None:
    """``value`` if it is an integer in [low, high] (a registry ``Integer`` column), else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def bounded_json(
    value: Any, *, depth: int = MAX_DEPTH, items: int = MAX_ITEMS, chars: int = MAX_CHARS
) -> Any:
    """A JSON-safe copy of ``value``: containers below ``depth`` levels become ``"…"``, at most
    ``items`` entries each, strings of at most ``chars``, integers in int64, finite floats only."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value, chars)
    if isinstance(value, dict):
        if depth <= 0:
            return CUT
        pairs = itertools.islice(value.items(), items)
        return {
            clean_text(str(key), chars): bounded_json(item, depth=depth - 1, items=items, chars=chars)
            for key, item in pairs
        }
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            return CUT
        kept = itertools.islice(value, items)
        return [bounded_json(item, depth=depth - 1, items=items, chars=chars) for item in kept]
    return clean_text(type(value).__name__, chars)
