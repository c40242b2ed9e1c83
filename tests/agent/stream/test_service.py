"""``stream.probe`` / ``stream.stop`` handlers: strict arguments, one probe at a time, kept over restarts.

A probe with ``play`` is also the wanted playback the player app reads; the next probe replaces it, a stop
or the end of its window clears it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from station_agent.commands.base import CommandContext
from station_agent.errors import CommandRejected
from station_agent.state import StateStore
from station_agent.stream.service import ACTIVE_KEY, WANTED_KEY, StreamService
from station_agent.stream.settings import ProbeSettings
from station_agent.stream.wanted import Wanted, WantedPlayback
from station_protocol import now_ms

from .simulated import SimClock, SimOrigin
from .test_player import ListSink


def ctx(name: str, args: dict[str, object]) -> CommandContext:
    return CommandContext(command_id="c1", name=name, args=args, sent_ms=0, received_ms=0)


def service(tmp_path: Path, wanted: WantedPlayback | None = None) -> tuple[StreamService, StateStore]:
    store = StateStore.open(tmp_path / "state.db")
    svc = StreamService(
        settings=ProbeSettings(),
        store=store,
        sink=ListSink(),
        fetcher_factory=lambda: SimOrigin(SimClock(), link_bps=1e7),
        device_id="stb-test",
        wanted=wanted,
    )
    return svc, store


def test_probe_starts_replaces_and_stops(tmp_path: Path) -> None:
    svc, store = service(tmp_path)
    args = {"url": "http://o/live/master.m3u8", "until_ms": now_ms() + 60_000, "lesson": "L7"}
    assert svc.probe(ctx("stream.probe", args))["state"] == "started"
    kept = store.get_json(ACTIVE_KEY)
    assert kept is not None
    assert kept["lesson"] == "L7"
    assert svc.probe(ctx("stream.probe", args))["state"] == "replaced"
    again, _ = service(tmp_path)  # a restarted agent picks the probe up again
    assert again._job is not None
    assert again._job["url"] == args["url"]
    assert svc.stop_probe(ctx("stream.stop", {})) == {"state": "stopped"}
    assert svc.stop_probe(ctx("stream.stop", {})) == {"state": "idle"}
    assert store.get_json(ACTIVE_KEY) is None


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"url": "http://o/a.m3u8"},
        {"url": "ftp://o/a.m3u8", "until_ms": 1},
        {"url": "http://o/a.m3u8", "until_ms": 1, "surprise": 1},
        {"url": "http://o/a.m3u8", "until_ms": -5},
        {"url": "http://o/a.m3u8", "until_ms": 1, "play": "yes"},
        {"url": "http://o/a.m3u8", "until_ms": 1, "play": 1},
    ],
)
def test_bad_probe_arguments_are_rejected(tmp_path: Path, args: dict[str, object]) -> None:
    svc, _ = service(tmp_path)
    with pytest.raises(CommandRejected):
        svc.probe(ctx("stream.probe", args))


class WallMs:
    """The wanted playback's clock (epoch ms), moved by the test."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_a_probe_with_play_is_the_wanted_playback_until_replaced_or_stopped(tmp_path: Path) -> None:
    wanted = WantedPlayback(WallMs(1_000))
    svc, store = service(tmp_path, wanted)
    url = "http://o/live/master.m3u8"
    play = {"url": url, "until_ms": 90_000, "lesson": "lesson-3", "play": True}
    svc.probe(ctx("stream.probe", play))
    assert wanted.get() == Wanted(url=url, lesson="lesson-3", until_ms=90_000)
    assert store.get_json(WANTED_KEY) == {"url": url, "lesson": "lesson-3", "until_ms": 90_000}
    svc.probe(ctx("stream.probe", {"url": "http://o/other.m3u8", "until_ms": 90_000}))
    assert wanted.get() is None  # the next probe replaces it, and this one asks for no playback
    svc.probe(ctx("stream.probe", {**play, "lesson": None}))
    assert wanted.get() == Wanted(url=url, lesson=None, until_ms=90_000)
    assert svc.stop_probe(ctx("stream.stop", {})) == {"state": "stopped"}
    assert wanted.get() is None
    assert store.get_json(WANTED_KEY) is None


def test_the_wanted_playback_ends_with_its_window_and_survives_a_restart(tmp_path: Path) -> None:
    clock = WallMs(1_000)
    svc, store = service(tmp_path, WantedPlayback(clock))
    svc.probe(ctx("stream.probe", {"url": "http://o/a.m3u8", "until_ms": 5_000, "lesson": "L", "play": True}))
    store.close()
    again, _ = service(tmp_path, WantedPlayback(clock))  # a restarted agent still offers it
    assert again.wanted.get() == Wanted(url="http://o/a.m3u8", lesson="L", until_ms=5_000)
    clock.now = 4_999
    assert again.wanted.get() is not None
    clock.now = 5_000
    assert again.wanted.get() is None


def test_a_damaged_stored_wanted_playback_is_ignored(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path / "state.db")
    store.put_json(WANTED_KEY, {"url": 5, "until_ms": "soon"})
    store.close()
    svc, _ = service(tmp_path, WantedPlayback(WallMs(0)))
    assert svc.wanted.get() is None
