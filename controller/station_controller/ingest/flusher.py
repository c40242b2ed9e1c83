"""Background loop: flush presence to the registry, mark silent devices offline, refresh enrolled ids."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..observability.metrics import IngestStats
from ..supervisor import SupervisedThread
from .devices import KnownDevices
from .isolation import write_isolating
from .presence import PresenceRepository, PresenceStore, Row
from .registry_io import is_outage

log = logging.getLogger(__name__)


class PresenceFlusher:
    """Every ``interval_s``: sweep + one batched registry write; every ``refresh_s``: reload enrolled ids."""

    def __init__(
        self,
        *,
        presence: PresenceStore,
        repository: PresenceRepository,
        known: KnownDevices,
        stats: IngestStats,
        interval_s: float,
        refresh_s: float = 5.0,
        housekeeping: Callable[[], None] | None = None,
        is_outage: Callable[[BaseException], bool] = is_outage,
    ) -> None:
        self._is_outage = is_outage
        self._presence = presence
        self._repository = repository
        self._known = known
        self._stats = stats
        self._interval = interval_s
        self._refresh = refresh_s
        self._housekeeping = housekeeping
        self._stop = threading.Event()
        self._thread = SupervisedThread(name="ingest-presence", target=self._run)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Stop the loop and write the last changes."""
        self._stop.set()
        if self._thread.ident is not None:  # stop() without start() must not raise
            self._thread.join(timeout_s)
        self.flush_once()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        next_refresh = time.monotonic() + self._refresh
        while not self._stop.wait(self._interval):
            if time.monotonic() >= next_refresh:
                self.refresh_known()
                self._run_housekeeping()
                next_refresh = time.monotonic() + self._refresh
            self._presence.sweep(time.time())
            self.flush_once()

    def _run_housekeeping(self) -> None:
        if self._housekeeping is None:
            return
        try:
            self._housekeeping()
        except Exception:
            log.exception("housekeeping failed; retrying at the next refresh")

    def refresh_known(self) -> None:
        try:
            gone = self._known.refresh()
        except Exception:
            log.exception("reloading enrolled device ids failed; keeping the previous set")
            return
        for device_id in gone:
            log.info("%s: no longer enrolled; ingest drops its messages", device_id)
            self._presence.forget(device_id)

    def flush_once(self) -> int:
        """Write every changed device in one transaction; returns how many rows were written.

        A database outage keeps every change for the next flush. A row the database refuses is found by
        halving the batch; the other devices' rows are written, the refused one is dropped and counted.
        """
        rows = self._presence.take_dirty()
        if not rows:
            return 0
        written, unwritten = self._write_isolating(rows)
        if unwritten:
            self._stats.inc("presence_flush_errors")
            self._presence.restore(unwritten)
        if written:
            self._stats.inc("presence_flushes")
        return written

    def _write_isolating(self, rows: list[Row]) -> tuple[int, list[Row]]:
        """(rows written, rows to keep for the next flush): isolation.write_isolating over the rows."""
        out = write_isolating(
            rows,
            self._repository.write_presence,
            device_of=lambda row: str(row["id"]),
            is_outage=self._is_outage,
        )
        if out.retry:
            log.warning("presence flush of %d devices failed, will retry: %s", len(out.retry), out.error)
        for row, error in out.refused:
            self._stats.inc("presence_rows_rejected")
            log.error("%s: the registry refused this device's presence row, dropped: %s", row["id"], error)
        return len(out.written), out.retry
