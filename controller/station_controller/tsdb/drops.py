"""VictoriaMetrics' own counts of rows it accepted with 204 and then dropped: the writer's second check.

The screen (screen.py) refuses what we know VictoriaMetrics drops; this watch reads what it dropped
anyway from its ``/metrics`` (``vm_rows_invalid_total{type="influx"}``,
``vm_rows_ignored_total{reason}``, names of VictoriaMetrics 1.79) every ``interval_s``, and counts the
growth in ``tsdb_rows_dropped{reason}``, so ``points_written - tsdb_rows_dropped`` is what is stored.
The growth is attributed to this process: exact when it is the TSDB's only writer (one node), an upper
bound when several controllers write to the same VictoriaMetrics.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import httpx

from ..observability.metrics import IngestStats

log = logging.getLogger(__name__)
_COUNTER = re.compile(
    r'^(?:vm_rows_invalid_total\{type="influx"\}|vm_rows_ignored_total\{reason="(?P<reason>[a-z_]+)"\}) '
    r"(?P<value>\d+)",
    re.MULTILINE,
)


def parse_drops(text: str) -> dict[str, int]:
    """``{reason: count}`` from a VictoriaMetrics ``/metrics`` page (``invalid_line`` for parse errors)."""
    return {match["reason"] or "invalid_line": int(match["value"]) for match in _COUNTER.finditer(text)}


class TsdbDropWatch:
    """Reads the TSDB's drop counters at most every ``interval_s``; growth goes to ``tsdb_rows_dropped``."""

    def __init__(
        self,
        *,
        url: str,
        stats: IngestStats,
        interval_s: float,
        timeout_s: float = 2.0,
        fetch: Callable[[str, float], str] | None = None,
    ) -> None:
        self._url = url.rstrip("/") + "/metrics"
        self._stats = stats
        self._interval = interval_s
        self._timeout = timeout_s
        self._fetch = fetch or _get
        self._last: dict[str, int] | None = None
        self._next = 0.0
        self._unsupported = False

    def check(self, *, force: bool = False) -> None:
        """Poll if due (never raises: a failed poll is retried at the next interval)."""
        now = time.monotonic()
        if self._unsupported or (not force and now < self._next):
            return
        self._next = now + self._interval
        try:
            counts = parse_drops(self._fetch(self._url, self._timeout))
        except Exception as exc:  # the TSDB may be restarting; the counters wait for the next poll
            log.debug("TSDB drop counters unreadable from %s: %s", self._url, exc)
            return
        if not counts:
            log.info("%s has no VictoriaMetrics drop counters; the drop watch is off", self._url)
            self._unsupported = True
            return
        self._count_growth(counts)

    def _count_growth(self, counts: dict[str, int]) -> None:
        last, self._last = self._last, counts
        if last is None:
            return  # the baseline: what was dropped before this process started is not ours
        for reason, value in counts.items():
            grown = value - last.get(reason, 0)
            if grown < 0:  # the TSDB restarted and its counters began again
                grown = value
            if grown:
                self._stats.inc_labeled("tsdb_rows_dropped", reason, grown)
                log.error("the TSDB dropped %d rows (%s) it had accepted; they are not stored", grown, reason)


def _get(url: str, timeout_s: float) -> str:
    response = httpx.get(url, timeout=timeout_s)
    response.raise_for_status()
    return response.text
