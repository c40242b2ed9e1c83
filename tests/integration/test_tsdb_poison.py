"""Poison points against a real VictoriaMetrics: honest points stored, bad ones counted, counters honest.

A private VictoriaMetrics (not the session one) so its own drop counters are this test's alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from station_controller.devstack import VictoriaService
from station_controller.observability.metrics import IngestStats
from station_controller.tsdb.drops import TsdbDropWatch, parse_drops
from station_controller.tsdb.influx import InfluxLineSink
from station_controller.tsdb.lineproto import event_line, telemetry_lines
from station_controller.tsdb.screen import LineScreen
from station_controller.tsdb.writer import TsdbWriter
from station_protocol import Event, InterfaceCounters, Telemetry
from tests.support import wait_until

pytestmark = pytest.mark.integration
DAY_MS = 86_400_000


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[VictoriaService]:
    service = VictoriaService(data_dir=tmp_path / "vm", retention="30d")
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _sample(seq: int) -> Telemetry:
    return Telemetry(
        seq=seq,
        interval_s=30.0,
        cpu_pct=1.5,
        load1=0.1,
        mem_total=1000,
        mem_used=400,
        disk_total=9000,
        disk_used=100,
        uptime_s=10.0,
        temp_c=None,
        interfaces=(InterfaceCounters("eth0", 1, 2, 3.0, 4.0),),
    )


def _stored(url: str) -> list[dict[str, object]]:
    httpx.get(f"{url}/internal/force_flush", timeout=10).raise_for_status()
    reply = httpx.post(f"{url}/api/v1/export", data={"match[]": '{device!=""}'}, timeout=10)
    reply.raise_for_status()
    return [json.loads(line) for line in reply.text.splitlines() if line]


def _points(rows: list[dict[str, object]]) -> int:
    """Lines stored: one sample of one field per line of each measurement (the others are alike)."""
    firsts = {"telemetry_seq", "iface_rx_bps", "event_count"}
    return sum(len(row["values"]) for row in rows if row["metric"]["__name__"] in firsts)  # type: ignore[arg-type,index]


def test_poison_is_isolated_and_points_written_matches_what_is_stored(vm: VictoriaService) -> None:
    stats = IngestStats()
    writer = TsdbWriter(
        InfluxLineSink(url=vm.url, token="", org="o", bucket="b", timeout_s=5),
        stats=stats,
        batch_points=7,  # poison lands in several batches, each split and written
        buffer_points=10_000,
        retry_max_delay_s=0.2,
        flush_interval_s=0.05,
        screen=LineScreen(retention_s=30 * 86400, max_future_s=86400),
        drops=TsdbDropWatch(url=vm.url, stats=stats, interval_s=0.2),
    )
    now = int(time.time() * 1000)
    honest = [
        line
        for seq in range(20)
        for line in telemetry_lines("stb-honest", "stb", now - seq * 1000, _sample(seq))
    ]
    escaped = [
        event_line(
            "rt-evil", "router", now, Event(name="boom\nevil,device=stb-honest x=1i 9", severity="error")
        ),
        event_line("rt-evil", "router", now, Event(name="bad\ud800name", severity="info")),
    ]
    poison = {
        f"event,device=rt-evil,name=x\ud800 count=1i {now}": "encoding",
        f"event,device=rt-evil,name=a\nb count=1i {now}": "newline",
        f"telemetry,device=rt-evil seq=1i {now + 3 * DAY_MS}": "timestamp_in_future",
        f"telemetry,device=rt-evil seq=1i {now + 10**12 * DAY_MS}": "timestamp_in_future",
        f"telemetry,device=rt-evil seq=1i {now - 31 * DAY_MS}": "timestamp_too_old",
        f"telemetry,device=rt-evil seq={2**64}i {now}": "int_out_of_range",
    }
    # Passes the cheap screen, but VictoriaMetrics skips it (204, no error): the drop watch sees it.
    slips_through = f"telemetry,device=rt-evil bare seq=1i {now}"
    lines = honest[:10] + list(poison) + escaped + honest[10:] + [slips_through]
    writer.start()
    try:
        done: list[int] = []
        writer.submit(lines, on_done=lambda: done.append(1))
        wait_until(lambda: done, timeout=30, message="every point stored or rejected")
        wait_until(
            lambda: stats.labeled("tsdb_rows_dropped", "invalid_line") == 1,
            timeout=30,
            message="VictoriaMetrics' own count of the line it skipped",
        )
    finally:
        writer.stop(5.0)
    for reason in set(poison.values()):
        assert stats.labeled("points_rejected", reason) == list(poison.values()).count(reason), reason
    assert stats.value("points_written") == len(honest) + len(escaped) + 1
    dropped = parse_drops(httpx.get(f"{vm.url}/metrics", timeout=10).text)
    assert dropped == {"big_timestamp": 0, "small_timestamp": 0, "invalid_line": 1}  # nothing else slipped
    rows = _stored(vm.url)
    assert _points(rows) == stats.value("points_written") - stats.labeled("tsdb_rows_dropped", "invalid_line")
    names = {row["metric"].get("name") for row in rows}  # type: ignore[union-attr]
    assert "boom evil,device=stb-honest x=1i 9" in names  # one line, its own tags, nothing injected
    assert "bad\ufffdname" in names
    honest_rows = [row for row in rows if row["metric"]["device"] == "stb-honest"]  # type: ignore[index]
    assert _points(honest_rows) == len(honest)
