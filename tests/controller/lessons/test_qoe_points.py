"""``stream.qoe`` events become the stream_* series in a real VictoriaMetrics; bad details are dropped."""

from __future__ import annotations

import json
from pathlib import Path

from station_controller.ingest.events import DeviceEvent
from station_controller.lessons.qoe_points import QoePoints, qoe_lines
from station_controller.tsdb.influx import InfluxLineSink
from tests.support import wait_until
from tests.support.services import VictoriaHandle

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "messages" / "events" / "stream.qoe.json"


def detail() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(GOLDEN.read_text())["detail"]
    return loaded


def test_lines_carry_every_figure_and_error_kind() -> None:
    lines = qoe_lines("stb-1", detail(), 1_795_700_000_000)
    assert lines[0].startswith("stream,device=stb-1,source=probe,lesson=lesson-12 ")
    assert "rebuffer_ratio=0.020833" in lines[0]
    assert "stall_count=1i" in lines[0]
    assert "stalled=0i" in lines[0]
    assert lines[1] == (
        "stream_errors,device=stb-1,source=probe,lesson=lesson-12,kind=segment_http total=1i 1795700000000"
    )


def test_events_reach_victoriametrics(victoria: VictoriaHandle) -> None:
    sink = InfluxLineSink(url=victoria.url, token="", org="station", bucket="station", timeout_s=5)
    handler = QoePoints(lambda: sink)
    good = DeviceEvent("stb-qoe-1", "stream.qoe", detail())
    bad = DeviceEvent("stb-qoe-2", "stream.qoe", {**detail(), "rebuffer_ratio": 7})
    handler.record([good, bad])
    wait_until(
        lambda: victoria.query('stream_rebuffer_ratio{device="stb-qoe-1"}'),
        timeout=30,
        message="stream_rebuffer_ratio in VictoriaMetrics",
    )
    rows = victoria.query('stream_errors_total{device="stb-qoe-1",kind="segment_http"}')
    assert [r["value"][1] for r in rows] == ["1"]
    assert victoria.query('stream_rebuffer_ratio{device="stb-qoe-2"}') == []
