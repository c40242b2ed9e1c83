"""The dev stack end to end: the demo STB probes the live ffmpeg stream `make run` starts (its demo
lesson), and a player app's events posted to the agent's socket reach VictoriaMetrics under the same
series names.

Real Mosquitto, VictoriaMetrics, controller, ffmpeg and demo agent (the DevStack of `make run`).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx

from station_controller.devstack.demo_lesson import DEMO_LESSON_TITLE
from tests.e2e.conftest import LiveStack
from tests.support import wait_until

PATH = "/v1/player/events"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("player", timeout=10)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self._path)


def post(sock: Path, **event: Any) -> int:
    conn = UnixHTTPConnection(sock)
    try:
        conn.request("POST", PATH, body=json.dumps(event), headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def series(live: LiveStack, promql: str) -> list[dict[str, Any]]:
    url = live.stack.settings.tsdb_url
    httpx.get(f"{url}/internal/force_flush", timeout=10).raise_for_status()
    reply = httpx.get(f"{url}/api/v1/query", params={"query": promql, "nocache": "1"}, timeout=10)
    reply.raise_for_status()
    result: list[dict[str, Any]] = reply.json()["data"]["result"]
    return result


def value(live: LiveStack, promql: str) -> float | None:
    rows = series(live, promql)
    return float(rows[0]["value"][1]) if rows else None


def demo_lesson_id(live: LiveStack) -> int:
    """The lesson `make run` schedules on the demo station (devstack/demo_lesson.py)."""
    with live.api() as api:
        rows = [r for r in api.get("/api/v1/lessons").json() if r["title"] == DEMO_LESSON_TITLE]
    assert len(rows) == 1, rows
    return int(rows[0]["id"])


def test_player_events_and_probe_reports_share_the_series(live_stack: LiveStack) -> None:
    live = live_stack
    device = live.demo_device_id
    sock = live.stack.data_dir / "demo" / "state" / "player.sock"
    wait_until(sock.exists, timeout=30, message="the demo agent's player socket")

    for event in (
        {"event": "play", "session": "e2e", "url": "http://127.0.0.1/live/master.m3u8", "lesson": "e2e-1"},
        {"event": "first_frame", "session": "e2e"},
        {"event": "bitrate", "session": "e2e", "bitrate_bps": 1_320_000},
        {"event": "stall_start", "session": "e2e"},
        {"event": "stall_end", "session": "e2e"},
        {"event": "error", "session": "e2e", "error": "decoder hiccup"},
    ):
        assert post(sock, **event) == 202
        time.sleep(0.3)  # the agent times events at receipt: a stall of ~0.3 s, not of 0 ms
    assert post(sock, event="stall_start", session="e2e", extra="x") == 400  # refused, not forwarded

    player = f'device="{device}",source="player",lesson="e2e-1"'
    wait_until(
        lambda: value(live, f'stream_errors_total{{{player},kind="player"}}') == 1.0,
        timeout=60,
        message="the player's error in VictoriaMetrics",
    )
    assert value(live, f"stream_stall_count{{{player}}}") == 1.0
    assert value(live, f"stream_bitrate_bps{{{player}}}") == 1_320_000
    startup = value(live, f"stream_startup_s{{{player}}}")
    assert startup is not None
    assert startup >= 0.0
    ratio = value(live, f"stream_rebuffer_ratio{{{player}}}")
    assert ratio is not None
    assert 0.0 < ratio <= 1.0

    # The dev stack's demo lesson on the live test pattern, probed by the STB: the same names, source="probe".
    probe = f'device="{device}",source="probe",lesson="lesson-{demo_lesson_id(live)}"'
    wait_until(
        lambda: (value(live, f"stream_segments{{{probe}}}") or 0) > 0,
        timeout=120,  # the lesson dispatcher's round (15 s) + the probe's first report
        message="the demo lesson's probe report in VictoriaMetrics",
    )
    assert value(live, f"stream_bitrate_bps{{{probe}}}") == 1_320_000  # loopback: the top variant
    latency = value(live, f"stream_latency_s{{{probe}}}")
    assert latency is not None
    assert latency > 0.0
