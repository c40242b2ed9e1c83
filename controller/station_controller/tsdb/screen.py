"""Local checks on line-protocol points before they are written: what the TSDB would drop silently.

VictoriaMetrics answers 204 to a write and then skips, without telling the client, every line it
cannot parse (an integer outside int64, a missing field value), every sample older than its
``-retentionPeriod`` and every sample more than two days ahead of its clock (``vm_rows_invalid_total``,
``vm_rows_ignored_total{reason="small_timestamp"|"big_timestamp"}``). Counting such points as
written would lie, so the writer screens each point here first and counts refusals by reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# A field value of 19+ digits with the integer suffix is the only way to leave int64.
_BIG_INT = re.compile(r"=(-?\d{19,})i(?=[, ]|$)")
_DEVICE = re.compile(r",device=((?:[^,\\ ]|\\.)*)")

# Reasons (``points_rejected{reason}``).
ENCODING = "encoding"
NEWLINE = "newline"
MALFORMED = "malformed"
INT_RANGE = "int_out_of_range"
TOO_OLD = "timestamp_too_old"
TOO_NEW = "timestamp_in_future"


def device_of(line: str) -> str:
    """The ``device`` tag of a point, for logs ("?" when it has none)."""
    match = _DEVICE.search(line)
    return match.group(1) if match else "?"


class LineScreen:
    """Refuses points the TSDB would not store; timestamps are milliseconds since the epoch."""

    def __init__(
        self,
        *,
        retention_s: float,
        max_future_s: float,
        retention_margin_s: float = 86_400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # The margin keeps points that would fall out of retention moments after writing from being
        # counted as stored; a sample a day from expiry is not worth keeping anyway.
        self._max_age_ms = int(max(0.0, retention_s - retention_margin_s) * 1000)
        self._max_future_ms = int(max_future_s * 1000)
        self._clock = clock

    def split(self, lines: Sequence[str]) -> tuple[list[int], list[tuple[int, str]]]:
        """(indexes of good lines, [(index, reason)] of refused ones)."""
        now_ms = int(self._clock() * 1000)
        low, high = now_ms - self._max_age_ms, now_ms + self._max_future_ms
        # Whole-batch passes first (a few ms for 5,000 lines); only a batch that fails one is checked
        # line by line for that property. The timestamp is checked per line always.
        joined = "\n".join(lines)
        flags = _Suspect(
            encoding=not _encodes(joined),
            newline=joined.count("\n") != len(lines) - 1 or "\r" in joined,
            big_int=_BIG_INT.search(joined) is not None,
        )
        good: list[int] = []
        bad: list[tuple[int, str]] = []
        for index, line in enumerate(lines):
            reason = _reason(line, low, high, flags)
            if reason is None:
                good.append(index)
            else:
                bad.append((index, reason))
        return good, bad


class _Suspect(NamedTuple):
    encoding: bool
    newline: bool
    big_int: bool


def _reason(line: str, low: int, high: int, suspect: _Suspect) -> str | None:
    if suspect.encoding and not _encodes(line):
        return ENCODING
    if suspect.newline and ("\n" in line or "\r" in line):
        return NEWLINE
    head, sep, stamp = line.rpartition(" ")
    if not sep or not head or not stamp.isdigit():
        return MALFORMED
    ts = int(stamp)
    if ts < low:
        return TOO_OLD
    if ts > high:
        return TOO_NEW
    if suspect.big_int:
        for match in _BIG_INT.finditer(head):
            if not INT64_MIN <= int(match.group(1)) <= INT64_MAX:
                return INT_RANGE
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
