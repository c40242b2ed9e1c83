"""InfluxDB line protocol for device samples (written to VictoriaMetrics as ``measurement_field``).

Series naming (what appears in VictoriaMetrics):
    telemetry_{cpu_pct,load1,mem_used,mem_total,disk_used,disk_total,uptime_s,temp_c,
               queue_depth,queue_dropped,seq}{device, role}
    iface_{rx_bps,tx_bps,rx_bytes,tx_bytes}{device, role, iface}
    event_count{device, role, name, severity}
Tags are kept to ``device`` and ``role`` (plus ``iface``/event ``name``): region and station live in the
registry, and moving a station must not split its history into new series.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from station_protocol import Event, Telemetry

from .screen import INT64_MAX, INT64_MIN

# Line protocol escapes ",", "=" and " " (and "\\") in tag keys and values, and has no escape at all for
# a newline or other control characters: they become an escaped space, or one device's event name would
# end its line early and the rest become a second, malformed line. A lone surrogate (which cannot be
# encoded as UTF-8) becomes U+FFFD, so no point built here can poison a batch.
_TAG_ESCAPES: dict[int, str] = {ord(c): "\\" + c for c in ",= \\"}
_TAG_ESCAPES.update({code: "\\ " for code in (*range(0x20), 0x7F)})
_TAG_ESCAPES.update({code: "\ufffd" for code in range(0xD800, 0xE000)})
TELEMETRY_INT_FIELDS = (
    "seq",
    "mem_used",
    "mem_total",
    "disk_used",
    "disk_total",
    "queue_depth",
    "queue_dropped",
)
TELEMETRY_FLOAT_FIELDS = ("cpu_pct", "load1", "uptime_s")


def escape_tag(value: str) -> str:
    """Escape a tag key or value for line protocol."""
    return value.translate(_TAG_ESCAPES)


def _tags(pairs: Iterable[tuple[str, str]]) -> str:
    # Empty tag values are invalid line protocol; leave the tag out instead.
    return "".join(f",{key}={escape_tag(value)}" for key, value in pairs if value)


def _line(measurement: str, tags: str, fields: list[str], ts_ms: int) -> str:
    return f"{measurement}{tags} {','.join(fields)} {ts_ms}"


def _int_field(name: str, value: object) -> list[str]:
    # Out of int64 (or not an int) the TSDB would skip the whole line, silently: leave the field out.
    if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
        return []
    return [f"{name}={value}i"]


def _float_field(name: str, value: object) -> list[str]:
    # NaN is VictoriaMetrics' staleness marker and inf is no measurement: leave such a field out.
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return []
    return [f"{name}={number!r}"] if math.isfinite(number) else []


def telemetry_lines(device_id: str, role: str, ts_ms: int, sample: Telemetry) -> list[str]:
    """One ``telemetry`` line plus one ``iface`` line per interface, all at the sample time.

    A field whose value cannot be stored (an integer outside int64, a non-finite number) is left out
    rather than making the TSDB drop the line; ``station_protocol`` refuses such values at the edge.
    """
    base = _tags((("device", device_id), ("role", role)))
    fields = [f for name in TELEMETRY_INT_FIELDS for f in _int_field(name, getattr(sample, name))]
    fields += [f for name in TELEMETRY_FLOAT_FIELDS for f in _float_field(name, getattr(sample, name))]
    if sample.temp_c is not None:
        fields += _float_field("temp_c", sample.temp_c)
    lines = [_line("telemetry", base, fields, ts_ms)] if fields else []
    for iface in sample.interfaces:
        iface_fields = [
            *_float_field("rx_bps", iface.rx_bps),
            *_float_field("tx_bps", iface.tx_bps),
            *_int_field("rx_bytes", iface.rx_bytes),
            *_int_field("tx_bytes", iface.tx_bytes),
        ]
        if iface_fields:
            lines.append(_line("iface", base + _tags((("iface", iface.name),)), iface_fields, ts_ms))
    return lines


def event_line(device_id: str, role: str, ts_ms: int, event: Event) -> str:
    """An ``event_count`` point of 1 at the event time."""
    tags = _tags((("device", device_id), ("role", role), ("name", event.name), ("severity", event.severity)))
    return _line("event", tags, ["count=1i"], ts_ms)
