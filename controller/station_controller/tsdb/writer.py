"""Writer thread: batches line-protocol points, isolates poison, retries outages from a bounded buffer.

Two kinds of failure, two treatments:

* an outage (connection refused, timeout, 5xx): the unwritten points go back to the head of the buffer
  and the writer backs off; nothing is lost while the buffer holds;
* poison (a point the screen refuses, a batch that cannot be encoded, a 400/413/422): the batch is split
  in halves until the bad points are isolated; the good ones are written, each bad one is counted in
  ``points_rejected{reason}`` and logged with its device id. Poison never goes back into the buffer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from ..observability.metrics import IngestStats
from ..supervisor import SupervisedThread
from .drops import TsdbDropWatch
from .errors import TsdbRejected, TsdbUnavailable
from .influx import LineSink
from .screen import LineScreen, device_of

log = logging.getLogger(__name__)
Callback = Callable[[], None]


class _Ticket:
    """One ``submit`` call: its callback runs when its last line is stored or rejected."""

    __slots__ = ("left", "callback")

    def __init__(self, left: int, callback: Callback) -> None:
        self.left = left
        self.callback = callback


_Item = tuple[str, "_Ticket | None"]


class TsdbWriter:
    """Owns one bounded deque of points: new points go right, batches leave left, outages put them back.

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
        screen: LineScreen | None = None,
        drops: TsdbDropWatch | None = None,
        stall_after_s: float = 60.0,
    ) -> None:
        self._sink = sink
        self._drops = drops
        self._stats = stats
        self._screen = screen
        self._batch = max(1, batch_points)
        self._capacity = max(self._batch, buffer_points)
        self._max_delay = retry_max_delay_s
        self._min_delay = min(retry_min_delay_s, retry_max_delay_s)
        self._interval = flush_interval_s
        self._stall_after = stall_after_s
        self._pending: deque[_Item] = deque()
        self._inflight: deque[_Item] = deque()  # the batch being written, in order; writer thread only
        self._due: list[_Ticket] = []  # callbacks of empty submits, run by the writer thread
        self._cond = threading.Condition()
        self._deadline: float | None = None  # set by stop(): drain until then
        self._waiting_since: float | None = None  # monotonic: points waiting and nothing resolved since
        self._last_error = ""
        self._crashes_in_a_row = 0
        self._careful = False  # set after a batch crashed the writer twice (see _recover_inflight)
        self._thread = SupervisedThread(name="tsdb-writer", target=self.run)
        stats.gauge("tsdb_buffer_points", self.buffered)

    def buffered(self) -> int:
        """Points not yet written (waiting or in the batch being written)."""
        return len(self._pending) + len(self._inflight)

    def submit(self, lines: Sequence[str], on_done: Callback | None = None) -> None:
        """Queue points; ``on_done`` runs once, on the writer thread, when each is stored or rejected.

        ``on_done`` is not called while points wait out a TSDB outage, nor ever for a call some of whose
        points were dropped (buffer overflow, shutdown timeout): those were not stored.
        """
        ticket = _Ticket(len(lines), on_done) if on_done is not None else None
        with self._cond:
            if self._waiting_since is None and lines:
                self._waiting_since = time.monotonic()
            if ticket is not None and not lines:
                self._due.append(ticket)
                self._cond.notify()
                return
            self._pending.extend((line, ticket) for line in lines)
            overflow = len(self._pending) + len(self._inflight) - self._capacity
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

    def stall_reason(self) -> str | None:
        """Why the writer is stuck (points waiting, nothing stored for ``stall_after_s``), else None."""
        since = self._waiting_since
        if since is None or self.buffered() == 0:
            return None
        idle = time.monotonic() - since
        if idle < self._stall_after:
            return None
        return (
            f"{self.buffered()} points waiting, nothing written for {idle:.0f} s: {self._last_error or '?'}"
        )

    def run(self) -> None:
        """The writer loop (the thread's target; a supervisor may call it again after a crash)."""
        self._recover_inflight()
        failures = 0
        while True:
            self._run_due()
            batch = self._next_batch()
            if batch is None:
                return
            if not batch:
                self._check_drops()
                continue
            stored = self._write(batch)
            self._careful = False
            if stored:
                failures = 0
                self._check_drops()
                continue
            failures += 1
            self._requeue()
            self._backoff(failures)

    def _check_drops(self) -> None:
        if self._drops is not None:
            self._drops.check()

    def _recover_inflight(self) -> None:
        # After a crash the batch being written goes back to the head. If it crashes the writer again,
        # it is written carefully: an unexpected error then marks that part as poison and halving finds
        # the point that triggers it, or one bad point would stop every device's data.
        if not self._inflight:
            return
        self._crashes_in_a_row += 1
        self._careful = self._crashes_in_a_row >= 2
        self._requeue()

    def _drop_oldest(self, count: int) -> None:
        # Caller holds the lock. Oldest first: recent samples are the ones staff look at.
        count = min(count, len(self._pending))
        for _ in range(count):
            self._pending.popleft()
        self._stats.inc("points_dropped", count)
        log.error("TSDB buffer full (%d points): dropped the %d oldest points", self._capacity, count)

    def _next_batch(self) -> list[_Item] | None:
        """A full batch, or what waits at the flush interval; [] when idle or for due callbacks; None when
        stopping."""
        with self._cond:
            flush_at = time.monotonic() + self._interval
            while self._deadline is None and len(self._pending) < self._batch and not self._due:
                remaining = flush_at - time.monotonic()
                if remaining <= 0:
                    if self._pending:
                        break
                    return []  # idle: a turn for the drop watch
                self._cond.wait(remaining)
            if self._due:
                return []
            if self._deadline is not None and (not self._pending or time.monotonic() >= self._deadline):
                self._give_up()
                return None
            take = min(self._batch, len(self._pending))
            self._inflight.extend(self._pending.popleft() for _ in range(take))
            return list(self._inflight)

    def _give_up(self) -> None:
        if self._pending:
            log.error("TSDB writer stopping with %d unwritten points; counted as dropped", len(self._pending))
            self._stats.inc("points_dropped", len(self._pending))
            self._pending.clear()

    def _write(self, batch: list[_Item]) -> bool:
        """Store what can be stored; False on an outage (the rest stays in flight for ``_requeue``)."""
        lines = [line for line, _ in batch]
        if self._screen is not None:
            good, bad = self._screen.split(lines)
            if bad:
                refused = {index: reason for index, reason in bad}
                kept = [item for index, item in enumerate(batch) if index not in refused]
                self._inflight.clear()
                self._inflight.extend(kept)
                for index, reason in bad:
                    self._reject_item(batch[index], reason)
                batch = kept
        return self._store(batch)

    def _store(self, batch: list[_Item]) -> bool:
        # Depth-first halves, left before right: resolved points always form a prefix of the batch.
        parts = [batch] if batch else []
        while parts:
            part = parts.pop()
            try:
                self._sink.write_lines([line for line, _ in part])
            except TsdbUnavailable as exc:
                log.warning("TSDB write of %d points failed, will retry: %s", len(self._inflight), exc)
                self._stats.inc("write_errors")
                self._last_error = str(exc)
                return False
            except Exception as exc:
                if not isinstance(exc, TsdbRejected) and not self._careful:
                    raise  # a bug: the supervisor logs it and restarts the writer
                if len(part) == 1:
                    reason = exc.reason if isinstance(exc, TsdbRejected) else "writer_error"
                    self._resolve(1, rejected=reason, detail=str(exc))
                    continue
                middle = len(part) // 2
                parts += [part[middle:], part[:middle]]
                continue
            self._stats.inc("points_written", len(part))
            self._resolve(len(part))
        return True

    def _resolve(self, count: int, *, rejected: str | None = None, detail: str = "") -> None:
        """The first ``count`` in-flight points are done (stored, or rejected for ``rejected``)."""
        done = [self._inflight.popleft() for _ in range(count)]
        if rejected is not None:
            for line, _ in done:
                self._count_reject(line, rejected, detail)
        self._progressed()
        for _, ticket in done:
            self._tick(ticket)

    def _reject_item(self, item: _Item, reason: str) -> None:
        self._count_reject(item[0], reason, "")
        self._progressed()
        self._tick(item[1])

    def _count_reject(self, line: str, reason: str, detail: str) -> None:
        self._stats.inc_labeled("points_rejected", reason)
        log.warning(
            "%s: TSDB point rejected (%s), not written: %.200r %s", device_of(line), reason, line, detail
        )

    def _progressed(self) -> None:
        self._crashes_in_a_row = 0
        with self._cond:
            self._waiting_since = time.monotonic() if self.buffered() else None

    def _tick(self, ticket: _Ticket | None) -> None:
        if ticket is None:
            return
        ticket.left -= 1
        if ticket.left == 0:
            self._call(ticket)

    def _run_due(self) -> None:
        with self._cond:
            due, self._due = self._due, []
        for ticket in due:
            self._call(ticket)

    def _call(self, ticket: _Ticket) -> None:
        try:
            ticket.callback()
        except Exception:
            log.exception("a TSDB write callback failed; the writer carries on")

    def _requeue(self) -> None:
        with self._cond:
            self._pending.extendleft(reversed(self._inflight))
            self._inflight.clear()
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
