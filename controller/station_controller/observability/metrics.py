"""Thread-safe ingest counters and the process's Prometheus registry that exposes them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import supervisor

# name → help; exposed as ``{name}_total``.
COUNTERS = {
    "messages_received": "MQTT messages taken from the broker by ingest",
    "messages_duplicate": "Messages dropped because their envelope id was seen recently",
    "messages_ignored": "Downlink messages (cmd, config/desired) seen on the uplink subscription",
    "points_written": "Points written to the TSDB",
    "points_dropped": "Points dropped unwritten: TSDB retry buffer overflow or shutdown timeout",
    "write_errors": "Failed TSDB write attempts",
    "results_recorded": "Command results written to the registry",
    "results_failed": "Command results the registry write failed for (retried)",
    "events_recorded": "Device events recorded by a feature's event handler",
    "events_failed": "Device events whose handler batch failed on an outage (kept and retried)",
    "presence_flushes": "Batched presence writes to the registry",
    "presence_flush_errors": "Failed presence flushes (changes kept for the next flush)",
    "presence_rows_rejected": "Devices' presence rows the registry refused (isolated, dropped, logged)",
    "presence_values_clamped": "Device values presence kept out or replaced (clock far off, int range)",
    "internal_errors": "Messages whose handling raised an unexpected error",
    "timestamps_clamped": "Messages (not telemetry) whose ts lay outside the receive window, set to receipt",
    "devices_quarantined": "Times a device went over its message or byte budget and was quarantined",
    "retained_cleared": "Retained messages on channels that must not be retained, cleared from the broker",
    "acks_stale": "Acknowledgements not sent because their connection was gone (the broker redelivers)",
}
LABELED = {
    "messages_rejected": ("reason", "Messages rejected, by reason"),
    "device_events": ("severity", "Device events received, by severity"),
    "points_rejected": ("reason", "Points refused as poison and not written (see tsdb/screen.py), by reason"),
    "tsdb_rows_dropped": ("reason", "Rows the TSDB accepted, then dropped (its own counters, tsdb/drops.py)"),
    "results_rejected": (
        "reason",
        "Command results the registry refused alone (isolated, dropped), by error",
    ),
    "events_rejected": (
        "reason",
        "Device events a feature's handler refused alone (poison: isolated, dropped), by error",
    ),
    "events_unregistered": (
        "device",
        'Events whose name the protocol registry does not declare, stored as name="other", by device',
    ),
    "label_values_capped": (
        "device",
        'Points whose interface name was past the device\'s cap of distinct names, stored as "other"',
    ),
}
# name → help; gauges read at scrape time (IngestStats.gauge), summed over runtimes.
GAUGES = {
    "tsdb_buffer_points": "Points waiting for the TSDB writer (buffered or being written) (current)",
    "devices_online": "Devices ingest believes online (current)",
    "ingest_queue_depth": "Uplink messages queued between the MQTT client and the pipeline (current)",
    "ingest_unacked": "Uplink messages taken from the broker and not yet acknowledged (current)",
    "ingest_events_pending": "Device events waiting for a feature handler's commit (current)",
    "ingest_results_pending": "Command results waiting for the registry write (current)",
}
# What the alert rules (monitoring/alerts/) read, as exposed: renaming one silently breaks an alert, so
# tests/controller/ingest/test_ingest_metrics.py pins these names, their type and their help text.
ALERT_INPUTS = {
    "thread_restarts_total": "counter",
    "threads_down": "gauge",
    "points_rejected_total": "counter",
    "points_dropped_total": "counter",
    "tsdb_rows_dropped_total": "counter",
    "devices_quarantined_total": "counter",
    "messages_rejected_total": "counter",
    "events_rejected_total": "counter",
    "events_failed_total": "counter",
    "results_rejected_total": "counter",
    "events_unregistered_total": "counter",
    "label_values_capped_total": "counter",
    "ingest_events_pending": "gauge",
    "tsdb_buffer_points": "gauge",
}
REJECT_REASONS = (
    "too_large",
    "malformed",
    "wrong_version",
    "unknown_kind",
    "bad_topic",
    "spoofed",
    "unknown_device",
    "rate_limited",
    "retained_not_allowed",
    # Bounds at the edge (docs/protocol.md, "Bounds").
    "bad_unicode",
    "control_char",
    "out_of_range",
    "too_long",
    "too_deep",
    "too_many_items",
    "ts_out_of_window",
)
# Prometheus names differ from the stats keys where a prefix makes them clearer on a shared dashboard.
PROM_NAMES = {"write_errors": "tsdb_write_errors"}


class IngestStats:
    """Counters and gauges of one ingest runtime; cheap enough for the hot path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._labeled: dict[str, dict[str, int]] = {name: {} for name in LABELED}
        self._labeled["messages_rejected"] = dict.fromkeys(REJECT_REASONS, 0)
        self._gauges: dict[str, Callable[[], float]] = {}

    def inc(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def inc_labeled(self, name: str, label: str, amount: int = 1) -> None:
        with self._lock:
            values = self._labeled[name]
            values[label] = values.get(label, 0) + amount

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """Register a gauge read at scrape time (e.g. the TSDB buffer length)."""
        self._gauges[name] = read

    def value(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def labeled(self, name: str, label: str) -> int:
        with self._lock:
            return self._labeled[name].get(label, 0)

    def gauges(self) -> dict[str, float]:
        return {name: float(read()) for name, read in list(self._gauges.items())}

    def snapshot(self) -> dict[str, float]:
        """Flat copy: counters, ``messages_rejected.{reason}`` style labeled counters, gauges."""
        with self._lock:
            flat: dict[str, float] = dict(self._counts)
            for name, values in self._labeled.items():
                flat.update({f"{name}.{label}": count for label, count in values.items()})
        flat.update(self.gauges())
        return flat

    def labeled_copy(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {name: dict(values) for name, values in self._labeled.items()}


class _StatsCollector(Collector):
    """Sums every live IngestStats at scrape time (tests may run several runtimes in one process)."""

    def __init__(self) -> None:
        self._sources: list[IngestStats] = []
        self._lock = threading.Lock()

    def attach(self, stats: IngestStats) -> None:
        with self._lock:
            self._sources.append(stats)

    def detach(self, stats: IngestStats) -> None:
        with self._lock:
            self._sources = [s for s in self._sources if s is not stats]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources = list(self._sources)
        snapshots = [s.snapshot() for s in sources]
        for name, doc in COUNTERS.items():
            family = CounterMetricFamily(PROM_NAMES.get(name, name), doc)
            family.add_metric([], sum(snap.get(name, 0) for snap in snapshots))
            yield family
        yield from self._collect_labeled(sources)
        yield from _collect_threads()
        for name, doc in GAUGES.items():
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], sum(snap.get(name, 0) for snap in snapshots))
            yield gauge

    def _collect_labeled(self, sources: list[IngestStats]) -> Iterator[Metric]:
        copies = [s.labeled_copy() for s in sources]
        for name, (label, doc) in LABELED.items():
            family = CounterMetricFamily(name, doc, labels=[label])
            totals: dict[str, int] = {}
            for copy in copies:
                for value, count in copy[name].items():
                    totals[value] = totals.get(value, 0) + count
            for value, count in sorted(totals.items()):
                family.add_metric([value], count)
            yield family


def _collect_threads() -> Iterator[Metric]:
    restarts = CounterMetricFamily(
        "thread_restarts", "Crashes of supervised background threads (each restarted)", labels=["thread"]
    )
    for name, count in sorted(supervisor.restarts().items()):
        restarts.add_metric([name], count)
    yield restarts
    down = GaugeMetricFamily("threads_down", "Supervised threads crashed and waiting to restart (current)")
    down.add_metric([], len(supervisor.down_threads()))
    yield down


REGISTRY = CollectorRegistry()
_COLLECTOR = _StatsCollector()
REGISTRY.register(_COLLECTOR)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)


def attach(stats: IngestStats) -> None:
    """Expose ``stats`` at /metrics (until ``detach``)."""
    _COLLECTOR.attach(stats)


def detach(stats: IngestStats) -> None:
    _COLLECTOR.detach(stats)
