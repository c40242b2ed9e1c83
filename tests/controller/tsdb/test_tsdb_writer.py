"""TsdbWriter against a fake LineSink: retries lose nothing, overflow drops the oldest and counts it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

from station_controller.observability.metrics import IngestStats
from station_controller.tsdb.errors import TsdbRejected, TsdbUnavailable
from station_controller.tsdb.writer import TsdbWriter
from tests.support import wait_until


class FlakySink:
    """Fails the first ``failures`` writes (or while ``down``), then records every line written."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.down = False
        self.reject = False
        self.attempts = 0
        self.lines: list[str] = []
        self.closed = False
        self._lock = threading.Lock()

    def write_lines(self, lines: Sequence[str]) -> None:
        with self._lock:
            self.attempts += 1
            if self.reject:
                raise TsdbRejected("400 bad line")
            if self.down or self.attempts <= self.failures:
                raise TsdbUnavailable("connection refused")
            self.lines.extend(lines)

    def written(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def close(self) -> None:
        self.closed = True


def _writer(sink: FlakySink, stats: IngestStats, *, batch: int = 10, buffer: int = 1000) -> TsdbWriter:
    return TsdbWriter(
        sink,
        stats=stats,
        batch_points=batch,
        buffer_points=buffer,
        retry_max_delay_s=0.05,
        flush_interval_s=0.02,
        retry_min_delay_s=0.01,
    )


@pytest.fixture
def stats() -> IngestStats:
    return IngestStats()


@pytest.fixture
def started() -> Iterator[list[TsdbWriter]]:
    writers: list[TsdbWriter] = []
    yield writers
    for writer in writers:
        writer.stop(2.0)


def test_failures_then_success_lose_nothing_and_keep_order(
    stats: IngestStats, started: list[TsdbWriter]
) -> None:
    sink = FlakySink(failures=3)
    writer = _writer(sink, stats)
    started.append(writer)
    writer.start()
    points = [f"telemetry,device=d seq={i}i {i}" for i in range(95)]
    for i in range(0, len(points), 7):
        writer.submit(points[i : i + 7])
    wait_until(lambda: len(sink.written()) == len(points), timeout=10, message="all points written")
    assert sink.written() == points
    assert stats.value("write_errors") == 3
    assert stats.value("points_written") == len(points)
    assert stats.value("points_dropped") == 0
    assert writer.buffered() == 0


def test_overflow_drops_oldest_and_counts_them(stats: IngestStats, started: list[TsdbWriter]) -> None:
    sink = FlakySink()
    sink.down = True
    writer = _writer(sink, stats, batch=10, buffer=50)
    started.append(writer)
    writer.start()
    points = [f"p{i}" for i in range(80)]
    writer.submit(points)
    wait_until(lambda: sink.attempts >= 2, message="writer retried while down")
    assert stats.value("points_dropped") == 30
    assert writer.buffered() == 50
    assert stats.gauges()["tsdb_buffer_points"] == 50
    sink.down = False
    wait_until(lambda: len(sink.written()) == 50, timeout=10, message="buffer drained after recovery")
    assert sink.written() == points[30:]
    assert stats.value("points_written") == 50


def test_rejected_batch_is_isolated_and_counted_not_retried(
    stats: IngestStats, started: list[TsdbWriter]
) -> None:
    sink = FlakySink()
    sink.reject = True
    writer = _writer(sink, stats, batch=5)
    started.append(writer)
    writer.start()
    writer.submit([f"p{i}" for i in range(5)])
    wait_until(
        lambda: stats.labeled("points_rejected", "tsdb_refused") == 5, message="rejected points counted"
    )
    assert sink.attempts == 9  # halves down to single points: 2n - 1 attempts, then never again
    assert writer.buffered() == 0
    assert stats.value("points_written") == 0
    sink.reject = False
    writer.submit(["after"])
    wait_until(lambda: sink.written() == ["after"], message="later points still written")
    assert sink.attempts == 10


def test_stop_flushes_the_buffer(stats: IngestStats) -> None:
    sink = FlakySink(failures=1)
    writer = TsdbWriter(
        sink,
        stats=stats,
        batch_points=1000,
        buffer_points=10_000,
        retry_max_delay_s=0.05,
        flush_interval_s=60,
    )
    writer.start()
    writer.submit([f"p{i}" for i in range(12)])
    writer.stop(5.0)
    assert sink.written() == [f"p{i}" for i in range(12)]
    assert sink.closed
    assert not writer.alive()


def test_stop_gives_up_at_the_deadline_and_counts_the_rest(stats: IngestStats) -> None:
    sink = FlakySink()
    sink.down = True
    writer = _writer(sink, stats)
    writer.start()
    writer.submit([f"p{i}" for i in range(25)])
    writer.stop(0.3)
    assert not writer.alive()
    assert sink.written() == []
    assert stats.value("points_dropped") == 25
