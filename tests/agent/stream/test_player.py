"""Player-reported events: strict parsing, the same QoE figures, and the Unix-socket endpoint."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest

from station_agent.stream.endpoint import MAX_BODY, PATH, PlayerEndpoint, PlayerIntake
from station_agent.stream.player import BadEvent, PlayerSessions, parse_event
from station_protocol.stream import Qoe
from tests.support import wait_until

from .simulated import SimClock


class ListSink:
    def __init__(self) -> None:
        self.reports: list[Qoe] = []

    def emit(self, report: Qoe) -> None:
        self.reports.append(report)


def ev(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_session_gives_startup_stalls_and_rebuffering_ratio() -> None:
    sessions, clock = PlayerSessions(), SimClock(now=100.0)
    steps = [
        (0.0, ev(event="play", url="http://o/live.m3u8", lesson="L1")),
        (1.5, ev(event="first_frame")),
        (0.0, ev(event="bitrate", bitrate_bps=800_000)),
        (10.0, ev(event="stall_start")),
        (2.0, ev(event="stall_end")),
        (0.0, ev(event="bitrate", bitrate_bps=400_000)),
        (8.0, ev(event="stop")),
    ]
    report = None
    for delay, body in steps:
        clock.now += delay
        report = sessions.apply(parse_event(body), clock.now)
    assert report is not None
    assert report.source == "player"
    assert report.lesson == "L1"
    assert report.state == "stopped"
    assert report.startup_s == 1.5
    assert report.stall_count == 1
    assert report.stall_s == 2.0
    assert report.play_s == 18.0
    assert report.rebuffer_ratio == pytest.approx(2.0 / 20.0)
    assert report.bitrate_bps == 400_000
    assert report.switches == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        ev(event="dance"),
        ev(event="play", extra=1),
        ev(event="play", url="file:///etc/passwd"),
        ev(event="bitrate"),
        ev(event="bitrate", bitrate_bps=True),
        ev(event="play", session="a b"),
        ev(event="error", error=5),
    ],
)
def test_hostile_or_wrong_events_are_refused(body: bytes) -> None:
    with pytest.raises(BadEvent):
        parse_event(body)


def test_error_text_is_cut_and_cleaned() -> None:
    event = parse_event(ev(event="error", error="x\n\x00" * 500))
    assert event.error is not None
    assert len(event.error) == 200
    assert "\n" not in event.error


def test_sessions_are_bounded() -> None:
    sessions = PlayerSessions()
    for i in range(50):
        sessions.apply(parse_event(ev(event="play", session=f"s{i}")), float(i))
    assert len(sessions._sessions) == 4


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("player", timeout=5)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self._path)


def post(path: Path, body: bytes, content_type: str = "application/json", url: str = PATH) -> int:
    conn = UnixHTTPConnection(path)
    try:
        conn.request("POST", url, body=body, headers={"Content-Type": content_type})
        return conn.getresponse().status
    finally:
        conn.close()


def announce_large_body(path: Path) -> int:
    """Headers announcing a body above the limit (the body never sent): answered before any read."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        head = f"POST {PATH} HTTP/1.1\r\nHost: player\r\nContent-Type: application/json\r\n"
        sock.sendall((head + f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode())
        return int(sock.recv(1024).split(b" ")[1])


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[Path, ListSink]]:
    sink = ListSink()
    sock = tmp_path / "player.sock"
    stop = threading.Event()
    thread = threading.Thread(target=PlayerEndpoint(sock, PlayerIntake(sink, rate_per_s=5)).run, args=(stop,))
    thread.start()
    wait_until(sock.exists, timeout=5)
    yield sock, sink
    stop.set()
    thread.join(5)
    assert not sock.exists()


def test_endpoint_takes_events_and_refuses_the_rest(endpoint: tuple[Path, ListSink]) -> None:
    sock, sink = endpoint
    assert post(sock, ev(event="play", url="http://o/a.m3u8")) == 202
    assert post(sock, ev(event="first_frame")) == 202
    assert [r.state for r in sink.reports] == ["startup", "playing"]
    assert post(sock, ev(event="nope")) == 400
    assert post(sock, ev(event="play"), content_type="text/plain") == 415
    assert post(sock, ev(event="play"), url="/other") == 404
    assert announce_large_body(sock) == 413
    assert len(sink.reports) == 2


def test_endpoint_rate_limits(endpoint: tuple[Path, ListSink]) -> None:
    sock, sink = endpoint
    statuses = [post(sock, ev(event="bitrate", bitrate_bps=1000 + i)) for i in range(30)]
    assert 429 in statuses
    assert len(sink.reports) < 30
