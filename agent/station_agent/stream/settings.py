"""Probe settings with their units; the defaults follow hls.js and ExoPlayer (docs/monitoring.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeSettings:
    """How the player model behaves and how much of the link it may take."""

    start_buffer_s: float = 2.0  # playback starts once this much media is buffered (first frame)
    resume_buffer_s: float = 2.0  # a stall ends once this much is buffered again
    max_buffer_s: float = 30.0  # hls.js maxBufferLength: no segment is fetched beyond it
    live_edge_segments: int = 3  # hls.js liveSyncDurationCount: start this many segments behind the edge
    # Throughput rule (abr.py): EWMA half-lives of hls.js (abrEwmaFastLive / abrEwmaSlowLive).
    ewma_fast_s: float = 3.0
    ewma_slow_s: float = 9.0
    down_factor: float = 0.95  # hls.js abrBandWidthFactor: stay while BANDWIDTH <= estimate x 0.95
    up_factor: float = 0.7  # hls.js abrBandWidthUpFactor / ExoPlayer bandwidthFraction 0.7
    max_bitrate_bps: int = 8_000_000  # never choose a variant above this (the link-share cap)
    request_timeout_s: float = 10.0
    max_playlist_bytes: int = 512 * 1024
    max_segment_bytes: int = 32 * 1024 * 1024
    retry_s: float = 2.0  # wait after a failed master/playlist request
    stale_factor: float = 1.5  # a live playlist is stale after 1.5 target durations without a new segment
    report_interval_s: float = 10.0
