"""``stream.probe`` / ``stream.stop`` handlers: strict arguments, one probe at a time, kept over restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from station_agent.commands.base import CommandContext
from station_agent.errors import CommandRejected
from station_agent.state import StateStore
from station_agent.stream.service import ACTIVE_KEY, StreamService
from station_agent.stream.settings import ProbeSettings
from station_protocol import now_ms

from .simulated import SimClock, SimOrigin
from .test_player import ListSink


def ctx(name: str, args: dict[str, object]) -> CommandContext:
    return CommandContext(command_id="c1", name=name, args=args, sent_ms=0, received_ms=0)


def service(tmp_path: Path) -> tuple[StreamService, StateStore]:
    store = StateStore.open(tmp_path / "state.db")
    svc = StreamService(
        settings=ProbeSettings(),
        store=store,
        sink=ListSink(),
        fetcher_factory=lambda: SimOrigin(SimClock(), link_bps=1e7),
        device_id="stb-test",
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
    ],
)
def test_bad_probe_arguments_are_rejected(tmp_path: Path, args: dict[str, object]) -> None:
    svc, _ = service(tmp_path)
    with pytest.raises(CommandRejected):
        svc.probe(ctx("stream.probe", args))
