"""Supervised threads: a crash is logged, counted, reported while down, and the loop restarted."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from prometheus_client import generate_latest

from station_controller import supervisor
from station_controller.observability import metrics
from station_controller.observability.metrics import IngestStats
from station_controller.supervisor import SupervisedThread
from station_controller.tsdb.writer import TsdbWriter
from tests.support import wait_until


def test_a_crashing_loop_is_restarted_counted_and_reported_down_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    runs: list[int] = []

    def loop() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("boom")
        release.wait(10)

    before = supervisor.restarts().get("test-crashy", 0)
    thread = SupervisedThread(name="test-crashy", target=loop, min_backoff_s=0.3, max_backoff_s=1.0)
    thread.start()
    down = wait_until(lambda: supervisor.down_threads().get("test-crashy"), message="reported down")
    assert "RuntimeError: boom" in down
    wait_until(lambda: len(runs) == 2, message="restarted")
    assert "test-crashy" not in supervisor.down_threads()
    assert supervisor.restarts()["test-crashy"] == before + 1
    assert "thread test-crashy crashed" in caplog.text
    assert thread.is_alive()
    release.set()
    thread.join(5)
    assert not thread.is_alive()


def test_join_stops_restarts_even_during_the_backoff() -> None:
    def loop() -> None:
        raise RuntimeError("always")

    thread = SupervisedThread(name="test-always", target=loop, min_backoff_s=60, max_backoff_s=60)
    thread.start()
    wait_until(lambda: "test-always" in supervisor.down_threads(), message="down after the crash")
    thread.join(5)
    assert not thread.is_alive()
    assert "test-always" not in supervisor.down_threads()


def test_restarts_appear_in_metrics() -> None:
    def loop() -> None:
        raise ValueError("x")

    thread = SupervisedThread(name="test-metrics", target=loop, min_backoff_s=60, max_backoff_s=60)
    thread.start()
    wait_until(lambda: "test-metrics" in supervisor.down_threads(), message="crashed once")
    text = _scrape()
    thread.join(5)
    assert 'thread_restarts_total{thread="test-metrics"} 1.0' in text


class CrashOnceSink:
    """A LineSink with a bug: the first write raises a non-TSDB error."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.crashed = False

    def write_lines(self, lines: Sequence[str]) -> None:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("sink bug")
        self.lines.extend(lines)

    def close(self) -> None:
        pass


def test_a_crashed_writer_is_restarted_and_loses_nothing() -> None:
    supervisor.configure(min_backoff_s=0.05, max_backoff_s=0.2)
    try:
        sink = CrashOnceSink()
        writer = TsdbWriter(
            sink, stats=IngestStats(), batch_points=5, buffer_points=100, retry_max_delay_s=0.05
        )
    finally:
        supervisor.configure(min_backoff_s=0.5, max_backoff_s=30.0)
    writer.start()
    done = threading.Event()
    writer.submit([f"p{i}" for i in range(12)], on_done=done.set)
    wait_until(done.is_set, message="every point written after the restart")
    writer.stop(2.0)
    assert sink.lines == [f"p{i}" for i in range(12)]
    assert supervisor.restarts()["tsdb-writer"] >= 1


def _scrape() -> str:
    return generate_latest(metrics.REGISTRY).decode()


class BugTriggerSink:
    """A LineSink whose bug fires on one particular point, as hostile input might trigger."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.crashes = 0

    def write_lines(self, lines: Sequence[str]) -> None:
        if any("BUG" in line for line in lines):
            self.crashes += 1
            raise RuntimeError("sink bug on one point")
        self.lines.extend(lines)

    def close(self) -> None:
        pass


def test_a_point_that_keeps_crashing_the_writer_is_isolated_and_the_rest_written() -> None:
    supervisor.configure(min_backoff_s=0.05, max_backoff_s=0.2)
    try:
        sink = BugTriggerSink()
        stats = IngestStats()
        writer = TsdbWriter(sink, stats=stats, batch_points=50, buffer_points=100, retry_max_delay_s=0.05)
    finally:
        supervisor.configure(min_backoff_s=0.5, max_backoff_s=30.0)
    good = [f"p{i}" for i in range(20)]
    done = threading.Event()
    writer.submit(good[:7] + ["BUG"] + good[7:], on_done=done.set)
    writer.start()
    wait_until(done.is_set, message="every point stored or rejected")
    writer.stop(2.0)
    assert sink.lines == good
    assert stats.labeled("points_rejected", "writer_error") == 1
    assert sink.crashes >= 2
