"""Periodic telemetry: two successive samples become one ``Telemetry`` body, committed to the outbox."""

from __future__ import annotations

import logging
import threading
import time
from typing import Dict, Optional, Tuple

from station_protocol import Channel, InterfaceCounters, Telemetry, encode, make, now_ms, topic
from station_protocol.messages import MAX_INTERFACES

from .outbox import TELEMETRY, Outbox
from .state import StateStore
from .system_metrics import MetricsSample, SystemMetrics
from .tunables import Tunables

log = logging.getLogger(__name__)

SEQ_COUNTER = "telemetry_seq"


def _rate(current: int, previous: Optional[int], elapsed: float) -> float:
    """Bits per second between two byte counters; a counter that went backwards restarted from zero."""
    if previous is None or elapsed <= 0:
        return 0.0
    delta = current - previous if current >= previous else current
    return delta * 8.0 / elapsed


class TelemetryBuilder:
    """Remembers the previous sample so byte counters become rates."""

    def __init__(self, metrics: SystemMetrics, interfaces: Optional[Tuple[str, ...]] = None) -> None:
        self._metrics = metrics
        self._wanted = interfaces
        self._previous: Optional[MetricsSample] = None

    def build(self, *, seq: int, interval_s: float, queue_depth: int, queue_dropped: int) -> Telemetry:
        sample = self._metrics.sample()
        previous, self._previous = self._previous, sample
        return Telemetry(
            seq=seq,
            interval_s=interval_s,
            cpu_pct=max(0.0, sample.cpu_pct),
            load1=max(0.0, sample.load1),
            mem_total=sample.mem_total,
            mem_used=max(0, sample.mem_used),
            disk_total=sample.disk_total,
            disk_used=sample.disk_used,
            uptime_s=max(0.0, sample.uptime_s),
            temp_c=sample.temp_c,
            queue_depth=queue_depth,
            queue_dropped=queue_dropped,
            interfaces=self._interfaces(sample, previous),
        )

    def _interfaces(
        self, sample: MetricsSample, previous: Optional[MetricsSample]
    ) -> Tuple[InterfaceCounters, ...]:
        before: Dict[str, Tuple[int, int]] = {}
        elapsed = 0.0
        if previous is not None:
            before = {i.name: (i.rx_bytes, i.tx_bytes) for i in previous.interfaces}
            elapsed = sample.monotonic - previous.monotonic
        chosen = [i for i in sample.interfaces if self._include(i.name)][:MAX_INTERFACES]
        return tuple(
            InterfaceCounters(
                name=i.name[:32],
                rx_bytes=i.rx_bytes,
                tx_bytes=i.tx_bytes,
                rx_bps=_rate(i.rx_bytes, before[i.name][0] if i.name in before else None, elapsed),
                tx_bps=_rate(i.tx_bytes, before[i.name][1] if i.name in before else None, elapsed),
            )
            for i in chosen
        )

    def _include(self, name: str) -> bool:
        return name in self._wanted if self._wanted is not None else name != "lo"


class TelemetryReporter:
    """Samples, numbers (persistent seq) and queues one message per tick; works while the broker is down."""

    def __init__(
        self,
        *,
        device_id: str,
        builder: TelemetryBuilder,
        store: StateStore,
        outbox: Outbox,
        tunables: Tunables,
    ) -> None:
        self._device_id = device_id
        self._builder = builder
        self._store = store
        self._outbox = outbox
        self._tunables = tunables
        self._topic = topic(device_id, Channel.TELEMETRY)

    def tick(self) -> int:
        """Take one sample and commit it to the outbox; returns its seq."""
        # One transaction for the seq and the row: a kill -9 in between cannot leave a gap in seq.
        with self._store.transaction():
            seq = self._store.add_counter(SEQ_COUNTER)
            ts = now_ms()
            body = self._builder.build(
                seq=seq,
                interval_s=self._tunables.telemetry_interval_s,
                queue_depth=self._outbox.depth(),
                queue_dropped=self._outbox.dropped(),
            )
            self._outbox.put(TELEMETRY, self._topic, encode(make(self._device_id, body, ts=ts)))
        log.debug("%s: telemetry seq %d queued", self._device_id, seq)
        return seq

    def run(self, stop: threading.Event) -> None:
        """Tick every interval until ``stop``; an interval change takes effect at once."""
        last = time.monotonic()
        self._safe_tick()
        while not stop.is_set():
            due = last + self._tunables.telemetry_interval_s
            self._tunables.changed.wait(max(0.0, min(due - time.monotonic(), 1.0)))
            if self._tunables.changed.is_set():
                self._tunables.changed.clear()
                continue  # recompute ``due`` with the new interval
            if stop.is_set() or time.monotonic() < due:
                continue
            last = time.monotonic()
            self._safe_tick()

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception:  # one failed sample (full disk, sensor error) must not stop the next ones
            log.exception("%s: telemetry sample failed", self._device_id)
