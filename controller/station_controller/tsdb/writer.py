"""Writer thread: batches line-protocol points, retries failed batches from a bounded buffer, never blocks."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from ..observability.metrics import IngestStats
from .errors import TsdbRejected, TsdbUnavailable
from .influx import LineSink

log = logging.getLogger(__name__)


class TsdbWriter:
    """Owns one bounded deque of points: new points go right, batches leave left and return on failure.

    ``submit`` never blocks: past ``buffer_points`` the oldest points are dropped and counted.
    """

    def __init__(
        self,
        sink: LineSink,
        *,
        stats: IngestStats,
        batch_points: int,
        buffer_points: int,
        retry_max_delay_s: float,
        flush_interval_s: float = 1.0,
        retry_min_delay_s: float = 0.25,
    ) -> None:
        self._sink = sink
        self._stats = stats
        self._batch = max(1, batch_points)
        self._capacity = max(self._batch, buffer_points)
        self._max_delay = retry_max_delay_s
        self._min_delay = min(retry_min_delay_s, retry_max_delay_s)
        self._interval = flush_interval_s
        self._pending: deque[str] = deque()
        self._inflight = 0
        self._cond = threading.Condition()
        self._deadline: float | None = None  # set by stop(): drain until then
        self._thread = threading.Thread(target=self._run, name="tsdb-writer", daemon=True)
        stats.gauge("tsdb_buffer_points", self.buffered)

    def buffered(self) -> int:
        """Points not yet written (waiting or in the batch being written)."""
        return len(self._pending) + self._inflight

    def submit(self, lines: Sequence[str]) -> None:
        """Queue points for writing; drops the oldest when the buffer is full."""
        with self._cond:
            self._pending.extend(lines)
            overflow = len(self._pending) + self._inflight - self._capacity
            if overflow > 0:
                self._drop_oldest(overflow)
            if len(self._pending) >= self._batch:
                self._cond.notify()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Write what is buffered, trying until ``timeout_s``; what is left then is counted as dropped."""
        with self._cond:
            self._deadline = time.monotonic() + timeout_s
            self._cond.notify()
        if self._thread.ident is not None:
            self._thread.join(timeout_s + 5.0)
        self._sink.close()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _drop_oldest(self, count: int) -> None:
        # Caller holds the lock. Oldest first: recent samples are the ones staff look at.
        count = min(count, len(self._pending))
        for _ in range(count):
            self._pending.popleft()
        self._stats.inc("points_dropped", count)
        log.error("TSDB buffer full (%d points): dropped the %d oldest points", self._capacity, count)

    def _run(self) -> None:
        failures = 0
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if self._write(batch):
                failures = 0
                continue
            failures += 1
            self._requeue(batch)
            self._backoff(failures)

    def _next_batch(self) -> list[str] | None:
        """Wait for a full batch or the flush interval; None when stopping with nothing (or no time) left."""
        with self._cond:
            flush_at = time.monotonic() + self._interval
            while self._deadline is None and len(self._pending) < self._batch:
                remaining = flush_at - time.monotonic()
                if remaining <= 0:
                    if self._pending:
                        break
                    flush_at = time.monotonic() + self._interval
                    continue
                self._cond.wait(remaining)
            if self._deadline is not None and (not self._pending or time.monotonic() >= self._deadline):
                self._give_up()
                return None
            take = min(self._batch, len(self._pending))
            batch = [self._pending.popleft() for _ in range(take)]
            self._inflight = len(batch)
            return batch

    def _give_up(self) -> None:
        if self._pending:
            log.error("TSDB writer stopping with %d unwritten points; counted as dropped", len(self._pending))
            self._stats.inc("points_dropped", len(self._pending))
            self._pending.clear()

    def _write(self, batch: list[str]) -> bool:
        try:
            self._sink.write_lines(batch)
        except TsdbRejected as exc:
            log.error("TSDB rejected %d points, dropping them: %s", len(batch), exc)
            self._stats.inc("write_errors")
            self._stats.inc("points_dropped", len(batch))
            with self._cond:
                self._inflight = 0
            return True
        except TsdbUnavailable as exc:
            log.warning("TSDB write of %d points failed, will retry: %s", len(batch), exc)
            self._stats.inc("write_errors")
            return False
        self._stats.inc("points_written", len(batch))
        with self._cond:
            self._inflight = 0
        return True

    def _requeue(self, batch: list[str]) -> None:
        with self._cond:
            self._inflight = 0
            self._pending.extendleft(reversed(batch))
            overflow = len(self._pending) - self._capacity
            if overflow > 0:
                self._drop_oldest(overflow)

    def _backoff(self, failures: int) -> None:
        delay = min(self._max_delay, self._min_delay * (2 ** min(failures - 1, 30)))
        end = time.monotonic() + delay
        with self._cond:
            while True:
                limit = end if self._deadline is None else min(end, self._deadline)
                remaining = limit - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)
