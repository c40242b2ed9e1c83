"""/readyz names a crashed background thread while it is down, and is 200 again once it runs."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from station_controller import supervisor
from station_controller.observability.metrics import IngestStats
from station_controller.tsdb.writer import TsdbWriter
from tests.controller.api.core_fixtures import Api
from tests.support import wait_until


class BuggySink:
    """A LineSink (behind its Protocol) with a bug: every write raises until ``fixed`` is set."""

    def __init__(self) -> None:
        self.fixed = threading.Event()
        self.lines: list[str] = []

    def write_lines(self, lines: Sequence[str]) -> None:
        if not self.fixed.is_set():
            raise RuntimeError("sink bug")
        self.lines.extend(lines)

    def close(self) -> None:
        pass


def test_a_crashing_writer_thread_turns_readyz_red_until_it_recovers(api: Api) -> None:
    supervisor.configure(min_backoff_s=1.5, max_backoff_s=3.0)  # down long enough to be seen
    try:
        sink = BuggySink()
        writer = TsdbWriter(
            sink, stats=IngestStats(), batch_points=1, buffer_points=10, retry_max_delay_s=0.1
        )
    finally:
        supervisor.configure(min_backoff_s=0.5, max_backoff_s=30.0)
    writer.start()
    try:
        writer.submit(["p1"])
        reply = wait_until(
            lambda: (r := api.client.get("/readyz")).status_code == 503 and r, message="503 while crashed"
        )
        assert reply.json()["checks"]["threads"] is False
        assert "RuntimeError: sink bug" in reply.json()["reasons"]["thread tsdb-writer"]
        sink.fixed.set()
        writer.submit(["p2"])  # p1 may have been given up as poison after crashing the writer twice
        wait_until(lambda: "p2" in sink.lines, message="written after the restart")
        wait_until(lambda: api.client.get("/readyz").status_code == 200, message="200 after recovery")
    finally:
        writer.stop(2.0)
