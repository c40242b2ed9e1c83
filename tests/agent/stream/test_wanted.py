"""`GET /v1/player/wanted` on the real Unix socket: what a `stream.probe` with `play` asks to play."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterator

import pytest

from station_agent.commands.base import CommandContext
from station_agent.state import StateStore
from station_agent.stream.endpoint import PATH, WANTED_PATH, PlayerEndpoint, PlayerIntake
from station_agent.stream.service import StreamService
from station_agent.stream.settings import ProbeSettings
from station_agent.stream.wanted import Wanted, WantedPlayback
from tests.support import wait_until

from .simulated import SimClock, SimOrigin
from .test_player import ListSink, UnixHTTPConnection, ev, post


def get(path: Path, url: str = WANTED_PATH) -> tuple[int, str | None, bytes]:
    """Status, Content-Type and body of one GET."""
    conn = UnixHTTPConnection(path)
    try:
        conn.request("GET", url)
        reply = conn.getresponse()
        return reply.status, reply.getheader("Content-Type"), reply.read()
    finally:
        conn.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, StreamService, ListSink]]:
    """The endpoint and the stream commands sharing one wanted playback, as stream_parts wires them."""
    sink, wanted, store = ListSink(), WantedPlayback(), StateStore.open(tmp_path / "state.db")
    svc = StreamService(
        settings=ProbeSettings(),
        store=store,
        sink=sink,
        fetcher_factory=lambda: SimOrigin(SimClock(), link_bps=1e7),
        device_id="stb-test",
        wanted=wanted,
    )
    sock = tmp_path / "player.sock"
    stop = threading.Event()
    thread = threading.Thread(
        target=PlayerEndpoint(sock, PlayerIntake(sink, rate_per_s=5), wanted).run, args=(stop,)
    )
    thread.start()
    wait_until(sock.exists, timeout=5)
    yield sock, svc, sink
    stop.set()
    thread.join(5)
    store.close()


def command(svc: StreamService, name: str, args: dict[str, object]) -> None:
    ctx = CommandContext(command_id="c1", name=name, args=args, sent_ms=0, received_ms=0)
    svc.handlers()[name](ctx)


def test_the_player_app_reads_what_the_lesson_wants_played(
    served: tuple[Path, StreamService, ListSink],
) -> None:
    sock, svc, _ = served
    assert get(sock) == (204, None, b"")  # nothing asked yet
    url = "http://10.8.0.1:8090/live/master.m3u8"
    command(
        svc, "stream.probe", {"url": url, "until_ms": 4_000_000_000_000, "lesson": "lesson-9", "play": True}
    )
    status, content_type, body = get(sock)
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"url": url, "lesson": "lesson-9", "until_ms": 4_000_000_000_000}
    command(svc, "stream.stop", {})
    assert get(sock)[0] == 204


def test_a_probe_without_play_offers_nothing(served: tuple[Path, StreamService, ListSink]) -> None:
    sock, svc, _ = served
    command(svc, "stream.probe", {"url": "http://o/a.m3u8", "until_ms": 4_000_000_000_000, "lesson": "L"})
    assert get(sock)[0] == 204


def test_a_passed_window_offers_nothing(served: tuple[Path, StreamService, ListSink]) -> None:
    sock, svc, _ = served
    command(svc, "stream.probe", {"url": "http://o/a.m3u8", "until_ms": 1_000, "play": True})  # 1970
    assert get(sock)[0] == 204


def test_wrong_methods_and_paths_are_refused(served: tuple[Path, StreamService, ListSink]) -> None:
    sock, svc, sink = served
    svc.wanted.set(Wanted(url="http://o/a.m3u8", lesson=None, until_ms=4_000_000_000_000))
    assert get(sock, PATH)[0] == 405  # events are posted
    assert get(sock, "/v1/player/other")[0] == 404
    assert get(sock, WANTED_PATH + "?x=1")[0] == 404  # the exact path only
    assert post(sock, ev(event="play"), url=WANTED_PATH) == 405  # the wanted playback is only read
    assert sink.reports == []  # a body posted to the wrong path is read, never applied
    assert post(sock, ev(event="play", url="http://o/a.m3u8")) == 202  # events still flow beside it
    assert len(sink.reports) == 1
