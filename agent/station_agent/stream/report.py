"""QoE reports: a probe session's figures as a ``stream.qoe`` body, sent through the outbox."""

from __future__ import annotations

from typing import Optional, Protocol

from station_protocol import Channel, Event, encode, make, topic
from station_protocol.contract import encode as encode_body
from station_protocol.stream import QOE, Qoe

from ..outbox import Outbox
from .probe import ProbeSession


class QoeSink(Protocol):
    def emit(self, report: Qoe) -> None: ...


class OutboxQoe:
    """``stream.qoe`` events go store-and-forward like every other uplink (severity by state)."""

    def __init__(self, outbox: Outbox, device_id: str) -> None:
        self._outbox = outbox
        self._device_id = device_id

    def emit(self, report: Qoe) -> None:
        severity = "warning" if report.state in ("stalled", "failed") else "info"
        body = Event(name=QOE, severity=severity, detail=encode_body(report))
        self._outbox.put("event", topic(self._device_id, Channel.EVENT), encode(make(self._device_id, body)))


def _ratio(numerator: float, denominator: float) -> Optional[float]:
    return numerator / denominator if denominator > 0 else None


def probe_report(
    probe: ProbeSession, *, session: str, lesson: Optional[str], interval_s: float, failed: bool = False
) -> Qoe:
    """The session's totals plus this window's throughput and download ratios (window reset)."""
    pb, st, w = probe.playback, probe.stats, probe.take_window()
    throughput = _ratio(w.bytes * 8.0, w.download_s)
    mean_bandwidth = _ratio(w.bandwidth_media, w.media_s)
    return Qoe(
        source="probe",
        session=session,
        url=probe.url[:2048],
        state="failed" if failed else pb.state,
        interval_s=round(interval_s, 3),
        errors=dict(st.errors),
        lesson=lesson,
        startup_s=None if pb.startup_s is None else round(pb.startup_s, 3),
        stall_count=pb.stall_count,
        stall_s=round(pb.stall_s, 3),
        play_s=round(pb.play_s, 3),
        rebuffer_ratio=round(pb.rebuffer_ratio(), 6),
        bitrate_bps=probe.variant.bandwidth if probe.variant else 0,
        avg_bitrate_bps=int(st.bitrate_media / st.media_s) if st.media_s > 0 else 0,
        switches=st.switches,
        throughput_bps=None if throughput is None else round(throughput, 1),
        throughput_ratio=_round(_ratio(throughput or 0.0, mean_bandwidth or 0.0) if throughput else None),
        download_ratio=_round(_ratio(w.download_s, w.media_s)),
        latency_s=_round(st.latency_s),
        buffer_s=round(pb.buffer_s, 3),
        segments=st.segments,
        stale_playlists=st.stale_playlists,
    )


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)
