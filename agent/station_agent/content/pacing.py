"""Token-bucket rate cap and allowed transfer windows (daily in station local time, or absolute)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from ..errors import CommandRejected

DAY = 86400


class TokenBucket:
    """Bits/s cap. The burst (0.5 s of rate) refills during request round trips, so on a high-latency
    link the average still reaches the cap instead of falling short by one RTT per chunk."""

    def __init__(
        self, rate_bps: int, *, burst_s: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_s = rate_bps / 8.0
        self._burst = max(16384.0, self._per_s * burst_s)
        self._tokens = 0.0
        self._clock = clock
        self._stamp = clock()

    def take(self, nbytes: int, stop: threading.Event) -> None:
        """Wait until ``nbytes`` may be sent (returns early when ``stop`` is set)."""
        if self._per_s <= 0:
            return
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._per_s) - nbytes
        self._stamp = now
        if self._tokens < 0:
            stop.wait(-self._tokens / self._per_s)


@dataclass(frozen=True)
class Window:
    """Daily window ``start``-``end`` (seconds after local midnight) and/or absolute [start, end) list."""

    daily: Optional[Tuple[int, int, int]] = None  # (start_s, end_s, utc_offset_s)
    absolute: Tuple[Tuple[float, float], ...] = ()

    def is_open(self, now: float) -> bool:
        return self.next_open(now) <= now

    def next_open(self, now: float) -> float:
        """The earliest time >= now inside the window (``inf`` when no window is left)."""
        if self.daily is None and not self.absolute:
            return now
        candidates: List[float] = []
        for start, end in self.absolute:
            if now < end:
                candidates.append(max(now, start))
        if self.daily is not None:
            candidates.append(self._daily_next(now))
        return min(candidates) if candidates else float("inf")

    def _daily_next(self, now: float) -> float:
        start, end, offset = self.daily  # type: ignore[misc]
        local = now + offset
        sod = local % DAY
        inside = start <= sod < end if start < end else (sod >= start or sod < end)
        if inside or start == end:
            return now
        wait = (start - sod) % DAY
        return now + wait

    def closes_at(self, now: float) -> float:
        """When the open window containing ``now`` ends."""
        ends: List[float] = []
        for start, end in self.absolute:
            if start <= now < end:
                ends.append(end)
        if self.daily is not None:
            start, end, offset = self.daily
            sod = (now + offset) % DAY
            if start != end and (start <= sod < end if start < end else (sod >= start or sod < end)):
                ends.append(now + ((end - sod) % DAY))
            elif start == end:
                ends.append(float("inf"))
        return max(ends) if ends else now


def _hhmm(value: Any, where: str) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise CommandRejected(f"{where}: expected HH:MM")
    try:
        h, m = int(value[:2]), int(value[3:])
    except ValueError:
        raise CommandRejected(f"{where}: expected HH:MM") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise CommandRejected(f"{where}: expected HH:MM")
    return h * 3600 + m * 60


def parse_window(daily: Any, absolute: Any) -> Window:
    """From the command's ``window`` (daily) and ``windows_ms`` (absolute [[start, end], ...]) args."""
    d: Optional[Tuple[int, int, int]] = None
    if daily is not None:
        if not isinstance(daily, dict) or set(daily) - {"start", "end", "utc_offset_min"}:
            raise CommandRejected("window: expected {start, end, utc_offset_min}")
        offset = daily.get("utc_offset_min", 0)
        if not isinstance(offset, int) or not -900 <= offset <= 900:
            raise CommandRejected("window.utc_offset_min: minutes east of UTC, -900..900")
        d = (_hhmm(daily.get("start"), "window.start"), _hhmm(daily.get("end"), "window.end"), offset * 60)
    spans: List[Tuple[float, float]] = []
    if absolute is not None:
        if not isinstance(absolute, list) or len(absolute) > 64:
            raise CommandRejected("windows_ms: expected a list of at most 64 [start_ms, end_ms] pairs")
        for item in absolute:
            ok = isinstance(item, list) and len(item) == 2 and all(isinstance(v, int) for v in item)
            if not ok or item[1] <= item[0]:
                raise CommandRejected("windows_ms: each item is [start_ms, end_ms] with end > start")
            spans.append((item[0] / 1000.0, item[1] / 1000.0))
    return Window(d, tuple(spans))
