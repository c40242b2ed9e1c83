"""The probe against real ffmpeg HLS across a tbf-shaped link, with real origin faults.

    stb ns  s0 10.78.1.2 ──veth── c0 10.78.1.1  centre ns: ffmpeg live test pattern (1200k + 400k
    (the agent's probe code,          (tbf on c0)    variants, BANDWIDTH 1320000 / 440000) + HTTP origin
     real HttpFetcher)

The link is shaped with tbf only (no netem), the unreachable origin is an nftables reject. Nothing is
timed: each case runs the probe for a while and checks what it counted.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from station_agent.stream.fetch import HttpFetcher
from station_agent.stream.probe import ProbeSession
from station_agent.stream.settings import ProbeSettings
from tests.support import wait_until
from tests.support.netns import NetnsLab, entered, popen_in, run_in, stop_process

CENTRE_IP, STB_IP, PORT = "10.78.1.1", "10.78.1.2", 8090
TOP, LOW = 1_320_000, 440_000
URL = f"http://{CENTRE_IP}:{PORT}/master.m3u8"
REJECT = f"""
table inet probe_fault {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {PORT} reject with icmpx type host-unreachable
  }}
}}
"""


@dataclass
class Rig:
    lab: NetnsLab
    centre: str
    stb: str
    control: Path

    def shape(self, kbit: int) -> None:
        """tbf on the centre's side: the STB's download direction."""
        argv = ["tc", "qdisc", "replace", "dev", "c0", "root", "tbf", "rate", f"{kbit}kbit"]
        run_in(self.centre, [*argv, "burst", "16kb", "latency", "800ms"])

    def probe(self, seconds: float) -> ProbeSession:
        """Run the agent's probe inside the STB namespace for ``seconds``; returns the finished session."""
        result: list[ProbeSession] = []
        stop = threading.Event()

        def work() -> None:
            with entered(self.stb):
                settings = ProbeSettings(request_timeout_s=4.0)
                session = ProbeSession(
                    URL,
                    settings=settings,
                    fetcher=HttpFetcher(),
                    clock=time.monotonic,
                    wall=time.time,
                    wait=stop.wait,
                )
                end = time.monotonic() + seconds
                while time.monotonic() < end and session.step():
                    pass
                result.append(session)

        thread = threading.Thread(target=work, name="probe-in-stb")
        thread.start()
        thread.join(seconds + 60)
        stop.set()
        assert result, "the probe thread did not finish"
        return result[0]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    work = tmp_path_factory.mktemp("hls")
    with NetnsLab(prefix=f"probe-{time.time_ns() % 100000}") as lab:
        centre, stb = lab.add("centre"), lab.add("stb")
        lab.veth(centre, "c0", stb, "s0")
        lab.address(centre, "c0", f"{CENTRE_IP}/24")
        lab.address(stb, "s0", f"{STB_IP}/24")
        control = work / "control"
        control.mkdir()
        argv = [sys.executable, "-m", "station_controller.devstack.hls", "--dir", str(work / "out")]
        argv += ["--host", CENTRE_IP, "--port", str(PORT), "--control-dir", str(control)]
        origin = popen_in(centre, argv, log_file=work / "origin.log")
        try:
            wait_until(
                lambda: (work / "out" / "v1_index.m3u8").exists() and origin.poll() is None,
                timeout=90,
                message="the live HLS source in the centre namespace",
            )
            time.sleep(8)  # a few segments in the live window before the first case
            yield Rig(lab, centre, stb, control)
        finally:
            stop_process(origin)


def test_link_well_above_the_top_variant(rig: Rig) -> None:
    rig.shape(10_000)
    probe = rig.probe(40)
    assert probe.variant is not None
    assert probe.variant.bandwidth == TOP
    assert probe.playback.stall_count == 0
    assert probe.playback.startup_s is not None
    assert probe.stats.errors == {}
    assert probe.stats.latency_s is not None


def test_link_between_the_variants(rig: Rig) -> None:
    rig.shape(1_000)
    probe = rig.probe(40)
    assert probe.variant is not None
    assert probe.variant.bandwidth == LOW
    assert probe.playback.stall_count == 0
    assert probe.stats.segments >= 10
    assert probe.stats.errors == {}


def test_link_below_the_low_variant(rig: Rig) -> None:
    rig.shape(300)
    probe = rig.probe(45)
    assert probe.variant is not None
    assert probe.variant.bandwidth == LOW
    assert probe.playback.stall_count >= 1
    assert probe.playback.rebuffer_ratio() > 0.0


def test_segment_404s(rig: Rig) -> None:
    rig.shape(10_000)
    (rig.control / "segment_404").touch()
    try:
        probe = rig.probe(15)
    finally:
        (rig.control / "segment_404").unlink()
    assert probe.stats.errors.get("segment_http", 0) >= 2
    assert set(probe.stats.errors) <= {"segment_http", "stale_playlist"}  # nothing new to play either
    assert probe.stats.segments == 0


def test_stale_live_playlist(rig: Rig) -> None:
    rig.shape(10_000)
    (rig.control / "freeze").touch()
    try:
        probe = rig.probe(20)
    finally:
        (rig.control / "freeze").unlink()
    assert probe.stats.stale_playlists >= 1
    assert set(probe.stats.errors) == {"stale_playlist"}


def test_unreachable_origin(rig: Rig) -> None:
    rig.shape(10_000)
    run_in(rig.centre, ["nft", "-f", "-"], input_text=REJECT)
    try:
        probe = rig.probe(10)
    finally:
        run_in(rig.centre, ["nft", "delete", "table", "inet", "probe_fault"])
    assert probe.stats.errors.get("unreachable", 0) >= 1
    assert set(probe.stats.errors) == {"unreachable"}
    assert probe.variants == ()
