"""Progress of one transfer: bytes, rate over the last seconds, ETA, and when to report."""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple


class Progress:
    def __init__(
        self,
        *,
        total: int,
        done: int,
        chunks_total: int,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = done
        self.chunks_total = chunks_total
        self.chunks_done = 0
        self._interval = interval_s
        self._clock = clock
        self._samples: Deque[Tuple[float, int]] = deque()
        self._last_report = 0.0
        self.add(0)

    def add(self, nbytes: int) -> None:
        self.done += nbytes
        now = self._clock()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > 10.0:
            self._samples.popleft()

    def rate_bps(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) * 8 / (t1 - t0) if t1 > t0 else 0.0

    def due(self) -> bool:
        now = self._clock()
        if now - self._last_report >= self._interval:
            self._last_report = now
            return True
        return False

    def detail(self, state: str, pause_reason: Optional[str] = None) -> Dict[str, Any]:
        rate = self.rate_bps()
        left = max(0, self.total - self.done)
        eta = round(left * 8 / rate, 1) if rate > 0 and state == "downloading" else None
        return {
            "state": state,
            "bytes_done": self.done,
            "bytes_total": self.total,
            "chunks_done": self.chunks_done,
            "chunks_total": self.chunks_total,
            "rate_bps": round(rate),
            "eta_s": eta,
            "pause_reason": pause_reason,
        }
