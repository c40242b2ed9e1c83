"""TsdbWriter poison containment and the ``on_done`` contract, against fake LineSinks (unit tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from station_controller.observability.metrics import IngestStats
from station_controller.tsdb.errors import TsdbRejected, TsdbUnavailable
from station_controller.tsdb.screen import LineScreen
from station_controller.tsdb.writer import TsdbWriter
from tests.support import wait_until

NOW_MS = int(time.time() * 1000)


class PickySink:
    """Refuses (400) any batch holding a line with ``BAD``; fails every write while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.attempts = 0
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write_lines(self, lines: Sequence[str]) -> None:
        with self._lock:
            self.attempts += 1
            if self.down:
                raise TsdbUnavailable("connection refused")
            if any("BAD" in line for line in lines):
                raise TsdbRejected("400 cannot parse", reason="tsdb_refused")
            "\n".join(lines).encode("utf-8")  # a real sink cannot send what does not encode
            self.lines.extend(lines)

    def written(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def close(self) -> None:
        pass


class Done:
    """Counts on_done calls and the threads they ran on."""

    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()

    def __call__(self) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)


def _point(device: str, seq: int, ts_ms: int = NOW_MS) -> str:
    return f"telemetry,device={device},role=stb seq={seq}i {ts_ms}"


@pytest.fixture
def stats() -> IngestStats:
    return IngestStats()


@pytest.fixture
def sink() -> PickySink:
    return PickySink()


@pytest.fixture
def writer(stats: IngestStats, sink: PickySink) -> Iterator[TsdbWriter]:
    screen = LineScreen(retention_s=30 * 86400, max_future_s=86400)
    writer = TsdbWriter(
        sink,
        stats=stats,
        batch_points=16,
        buffer_points=10_000,
        retry_max_delay_s=0.05,
        flush_interval_s=0.02,
        retry_min_delay_s=0.01,
        screen=screen,
        stall_after_s=0.2,
    )
    writer.start()
    yield writer
    writer.stop(2.0)


def test_refused_points_are_isolated_and_the_rest_written_in_order(
    writer: TsdbWriter, sink: PickySink, stats: IngestStats
) -> None:
    good = [_point("honest", i) for i in range(40)]
    mixed = good[:17] + ["telemetry,device=evil BAD=1i 5"] + good[17:]
    mixed.insert(30, f"telemetry,device=evil2 BAD=2i {NOW_MS}")
    writer.submit(mixed)
    wait_until(lambda: sink.written() == good, message="every honest point written, in order")
    assert stats.labeled("points_rejected", "timestamp_too_old") == 1  # screened, never sent
    assert stats.labeled("points_rejected", "tsdb_refused") == 1  # isolated by halving
    assert stats.value("points_written") == 40
    assert writer.buffered() == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"event,device=evil,name=x\ud800 count=1i {NOW_MS}", "encoding"),
        (f"event,device=evil,name=a\nb count=1i {NOW_MS}", "newline"),
        (f"telemetry,device=evil seq=1i {NOW_MS + 3 * 86_400_000}", "timestamp_in_future"),
        (f"telemetry,device=evil seq=1i {NOW_MS - 40 * 86_400_000}", "timestamp_too_old"),
        (f"telemetry,device=evil seq={2**63}i {NOW_MS}", "int_out_of_range"),
        (f"telemetry,device=evil seq=-{2**63 + 1}i {NOW_MS}", "int_out_of_range"),
        ("telemetry,device=evil seq=1i", "malformed"),
    ],
)
def test_poison_of_each_kind_is_counted_and_never_blocks_the_queue(
    writer: TsdbWriter, sink: PickySink, stats: IngestStats, line: str, reason: str
) -> None:
    done = Done()
    writer.submit([_point("honest", 1), line, _point("honest", 2)], on_done=done)
    wait_until(lambda: done.calls == 1, message="callback after stored-or-rejected")
    assert sink.written() == [_point("honest", 1), _point("honest", 2)]
    assert stats.labeled("points_rejected", reason) == 1
    writer.submit([_point("honest", 3)])
    wait_until(lambda: len(sink.written()) == 3, message="later points still flow")


def test_int64_bounds_themselves_are_accepted(writer: TsdbWriter, sink: PickySink) -> None:
    lines = [_point("edge", 2**63 - 1), f"telemetry,device=edge seq={-(2**63)}i {NOW_MS}"]
    writer.submit(lines)
    wait_until(lambda: sink.written() == lines, message="int64 limits written")


def test_on_done_waits_out_an_outage_then_runs_once_on_the_writer_thread(
    writer: TsdbWriter, sink: PickySink
) -> None:
    sink.down = True
    done = Done()
    writer.submit([_point("d", i) for i in range(40)], on_done=done)
    wait_until(lambda: sink.attempts >= 3, message="writer retrying during the outage")
    assert done.calls == 0
    assert writer.buffered() == 40
    sink.down = False
    wait_until(lambda: done.calls == 1, message="callback after recovery")
    assert len(sink.written()) == 40
    assert done.threads == {"tsdb-writer"}
    time.sleep(0.1)  # a second call would come from the next loop turns
    assert done.calls == 1


def test_on_done_for_every_call_and_for_an_empty_one(writer: TsdbWriter, sink: PickySink) -> None:
    calls = [Done() for _ in range(30)]
    for i, done in enumerate(calls):
        writer.submit([_point("d", i)] * (i % 3), on_done=done)
    wait_until(lambda: all(done.calls == 1 for done in calls), message="every callback ran")
    assert {name for done in calls for name in done.threads} == {"tsdb-writer"}


def test_a_raising_callback_does_not_hurt_the_writer(writer: TsdbWriter, sink: PickySink) -> None:
    def explode() -> None:
        raise RuntimeError("callback bug")

    writer.submit([_point("d", 1)], on_done=explode)
    writer.submit([_point("d", 2)])
    wait_until(lambda: len(sink.written()) == 2, message="writes go on after a failing callback")
    assert writer.alive()


def test_on_done_is_not_called_for_points_dropped_on_overflow(stats: IngestStats) -> None:
    sink = PickySink()
    writer = TsdbWriter(
        sink, stats=stats, batch_points=4, buffer_points=8, retry_max_delay_s=0.02, retry_min_delay_s=0.01
    )
    first, second = Done(), Done()
    writer.submit([_point("d", i) for i in range(6)], on_done=first)
    writer.submit([_point("d", i) for i in range(6, 12)], on_done=second)  # overflows: first loses 4
    assert stats.value("points_dropped") == 4
    writer.start()
    wait_until(lambda: second.calls == 1, message="the intact call completes")
    writer.stop(2.0)
    assert first.calls == 0


def test_a_long_outage_is_reported_as_a_stall_and_clears_after(writer: TsdbWriter, sink: PickySink) -> None:
    assert writer.stall_reason() is None
    sink.down = True
    writer.submit([_point("d", 1)])
    reason = wait_until(writer.stall_reason, message="stall reported")
    assert "1 points waiting" in reason
    assert "connection refused" in reason
    sink.down = False
    wait_until(lambda: writer.stall_reason() is None, message="stall cleared after the write")
