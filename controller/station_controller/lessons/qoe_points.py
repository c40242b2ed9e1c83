"""``stream.qoe`` device events as TSDB points (docs/monitoring.md "Stream quality").

Series (VictoriaMetrics names, ``measurement_field``):
    stream_{startup_s,stall_count,stall_s,play_s,rebuffer_ratio,bitrate_bps,avg_bitrate_bps,switches,
            throughput_bps,throughput_ratio,download_ratio,latency_s,buffer_s,segments,
            stale_playlists,stalled}{device, source, lesson?}
    stream_errors_total{device, source, kind, lesson?}
``source`` is ``probe`` (the agent's player model) or ``player`` (reported by the box's player app):
the same names, told apart by that label. The event arrives through ingest (the hub hands it to this
handler with its MQTT acknowledgement); the batch is written synchronously, so a TSDB outage makes
ingest keep the events, unacknowledged, and retry them on its next flush.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from station_protocol.errors import ProtocolError
from station_protocol.stream import ERROR_KINDS, QOE

from ..ingest.events import DeviceEvent
from ..tsdb.influx import LineSink
from ..tsdb.lineproto import escape_tag

log = logging.getLogger(__name__)
FLOAT_FIELDS = (
    "startup_s",
    "stall_s",
    "play_s",
    "rebuffer_ratio",
    "throughput_bps",
    "throughput_ratio",
    "download_ratio",
    "latency_s",
    "buffer_s",
)
INT_FIELDS = ("stall_count", "bitrate_bps", "avg_bitrate_bps", "switches", "segments", "stale_playlists")
_KINDS = frozenset(ERROR_KINDS)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def qoe_lines(device_id: str, detail: Mapping[str, Any], ts_ms: int) -> list[str]:
    """Points of one decoded ``stream.qoe`` detail (already checked by station_protocol)."""
    tags = f",device={escape_tag(device_id)},source={escape_tag(str(detail['source']))}"
    if detail.get("lesson"):
        tags += f",lesson={escape_tag(str(detail['lesson']))}"
    fields = [f"{name}={v!r}" for name in FLOAT_FIELDS if (v := _number(detail.get(name))) is not None]
    fields += [f"{name}={int(v)}i" for name in INT_FIELDS if (v := _number(detail.get(name))) is not None]
    fields.append(f"stalled={1 if detail.get('state') == 'stalled' else 0}i")
    lines = [f"stream{tags} {','.join(fields)} {ts_ms}"]
    errors = detail.get("errors") or {}
    for kind in sorted(k for k in errors if k in _KINDS):
        count = _number(errors[kind])
        if count is not None:
            lines.append(f"stream_errors{tags},kind={kind} total={int(count)}i {ts_ms}")
    return lines


class QoePoints:
    """The ingest hub's DeviceEventHandler for ``stream.qoe``."""

    names = frozenset({QOE})

    def __init__(self, sink_factory: Callable[[], LineSink], clock: Callable[[], float] = time.time) -> None:
        self._sink_factory = sink_factory
        self._sink: LineSink | None = None
        self._clock = clock

    def record(self, events: Sequence[DeviceEvent]) -> None:
        from station_protocol.contract import decode_event

        now_ms = int(self._clock() * 1000)
        lines: list[str] = []
        for event in events:
            try:
                detail = decode_event(QOE, event.detail)
            except ProtocolError as exc:  # checked at the edge already; a bad one is dropped, not retried
                log.warning("%s: bad stream.qoe detail: %s", event.device_id, exc)
                continue
            lines += qoe_lines(event.device_id, detail.__dict__, now_ms)
        if lines:
            if self._sink is None:
                self._sink = self._sink_factory()
            self._sink.write_lines(lines)
