"""The player model against a simulated origin and link: variant choice, stalls, errors, latency."""

from __future__ import annotations

from station_agent.stream.probe import ProbeSession
from station_agent.stream.report import probe_report
from station_agent.stream.settings import ProbeSettings

from .simulated import BASE, SimClock, SimOrigin

LOW, TOP = 400_000, 1_200_000


def run(origin: SimOrigin, clock: SimClock, seconds: float, url: str = f"{BASE}/master.m3u8") -> ProbeSession:
    clock.now = max(clock.now, 20.0)  # the live stream has been running for a while
    probe = ProbeSession(
        url, settings=ProbeSettings(), fetcher=origin, clock=clock, wall=clock.wall, wait=clock.wait
    )
    end = clock.now + seconds
    while clock.now < end and probe.step():
        pass
    return probe


def test_fast_link_plays_the_top_variant_without_stalls() -> None:
    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=20_000_000), clock, 120)
    assert probe.variant is not None
    assert probe.variant.bandwidth == TOP
    assert probe.playback.stall_count == 0
    assert probe.playback.startup_s is not None
    assert probe.playback.startup_s > 0
    assert probe.stats.switches == 1  # starts low, goes up once
    assert probe.stats.errors == {}
    report = probe_report(probe, session="s1", lesson="l1", interval_s=120)
    assert report.rebuffer_ratio == 0.0
    assert report.throughput_ratio is not None
    assert report.throughput_ratio > 5
    assert report.download_ratio is not None
    assert report.download_ratio < 0.2
    # Live latency: about the live-edge offset (3 segments) plus a segment being written.
    assert report.latency_s is not None
    assert 2.0 < report.latency_s < 12.0


def test_link_between_variants_stays_low_without_stalls() -> None:
    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=900_000), clock, 120)
    assert probe.variant is not None
    assert probe.variant.bandwidth == LOW
    assert probe.stats.switches == 0
    assert probe.playback.stall_count == 0
    assert probe.playback.play_s > 60


def test_link_below_the_low_variant_stalls() -> None:
    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=250_000), clock, 120)
    assert probe.variant is not None
    assert probe.variant.bandwidth == LOW
    assert probe.playback.stall_count >= 1
    assert probe.playback.rebuffer_ratio() > 0.0
    report = probe_report(probe, session="s1", lesson=None, interval_s=120)
    assert report.download_ratio is not None
    assert report.download_ratio > 1.0


def test_segment_404s_are_counted_and_skipped() -> None:
    clock = SimClock()
    origin = SimOrigin(clock, link_bps=20_000_000, missing={n for n in range(12, 20)})
    probe = run(origin, clock, 60)
    assert probe.stats.errors.get("segment_http", 0) >= 3
    assert set(probe.stats.errors) == {"segment_http"}
    assert probe.stats.segments > 10  # and it went on after them


def test_stale_live_playlist_is_reported_once_per_episode() -> None:
    clock = SimClock()
    origin = SimOrigin(clock, link_bps=20_000_000, frozen_after=40.0)
    probe = run(origin, clock, 60)
    assert probe.stats.stale_playlists == 1
    assert probe.stats.errors.get("stale_playlist") == 1
    assert probe.playback.stall_count >= 1  # nothing new to play: the buffer ran dry


def test_unreachable_origin_is_its_own_error() -> None:
    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=1e7, unreachable=True), clock, 10)
    assert probe.variants == ()
    assert set(probe.stats.errors) == {"unreachable"}
    assert probe.playback.startup_s is None
    report = probe_report(probe, session="s", lesson=None, interval_s=10, failed=True)
    assert report.state == "failed"


def test_vod_plays_to_its_end_and_stops() -> None:
    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=20_000_000, vod_segments=10), clock, 300)
    assert probe.playback.state == "stopped"
    assert probe.stats.segments == 10
    assert probe.playback.stall_count == 0
    assert abs(probe.playback.play_s - 20.0) < 0.01
    assert probe.stats.latency_s is not None  # PDT present; meaningless for VOD but computed


def test_media_playlist_url_is_one_variant() -> None:
    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=20_000_000), clock, 30, url=f"{BASE}/v0_index.m3u8")
    assert len(probe.variants) == 1
    assert probe.stats.segments > 3
    assert probe.playback.stall_count == 0


def test_probe_memory_is_bounded_by_the_window_not_the_length() -> None:
    clock = SimClock()
    origin = SimOrigin(clock, link_bps=20_000_000)
    probe = run(origin, clock, 600)
    assert probe.stats.segments > 250
    media = probe._media
    assert media is not None
    assert len(media.segments) <= origin.window
