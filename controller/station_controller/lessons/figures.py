"""Lesson figures from the TSDB: each station's latest QoE while live, the report after the end.

Per station (its STB): startup, rebuffering ratio (CTA-2066, the probe session's total), bitrate and
latency from the ``stream_*`` series with ``lesson="lesson-<id>"`` and ``source="probe"``. The report's
likely cause of a poor station looks at the minutes its STB stalled (``increase(stream_stall_s[1m])``)
and checks, at those minutes: the station router's WAN receive rate near its 7-day peak (saturated),
origin errors (HTTP errors, timeouts, unreachable), DNS failures, the STB's CPU above 90 %.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..tsdb.query import PromQuery, Series

FIGURES = (
    "startup_s",
    "rebuffer_ratio",
    "bitrate_bps",
    "avg_bitrate_bps",
    "latency_s",
    "stall_count",
    "stalled",
)
POOR_REBUFFER = 0.03  # docs/monitoring.md: rebuffering ratio warning 1 %, critical 3 %
POOR_STARTUP_S = 5.0  # startup p95 target
ORIGIN_KINDS = "master_http|playlist_http|segment_http|timeout|unreachable"
SATURATED = 0.9
CPU_BUSY = 90.0


@dataclass
class StationFigures:
    device: str
    station: str = ""
    station_name: str = ""
    region: str = ""
    watching: bool = False
    startup_s: float | None = None
    rebuffer_ratio: float | None = None
    bitrate_bps: float | None = None
    avg_bitrate_bps: float | None = None
    latency_s: float | None = None
    stall_count: float | None = None
    stalled: float | None = None
    poor: bool = False
    cause: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RegionRollup:
    region: str
    stations: int = 0
    watching: int = 0
    worst_rebuffer: float = 0.0
    mean_rebuffer: float | None = None
    mean_startup_s: float | None = None
    _rebuffers: list[float] = field(default_factory=list, repr=False)
    _startups: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def _by_device(series: Iterable[Series]) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in series:
        device = s.labels.get("device")
        if device and s.points and math.isfinite(s.points[-1][1]):
            out[device] = s.points[-1][1]
    return out


def latest(
    tsdb: PromQuery, label: str, *, window_s: int, at: float | None = None
) -> dict[str, dict[str, float]]:
    """figure -> device -> last value within ``window_s`` before ``at`` (now)."""
    return {
        name: _by_device(
            tsdb.query(
                f'last_over_time(stream_{name}{{lesson="{label}",source="probe"}}[{window_s}s])', at=at
            )
        )
        for name in FIGURES
    }


def station_rows(
    targets: Sequence[dict[str, str]], values: dict[str, dict[str, float]]
) -> list[StationFigures]:
    """One row per target STB (``targets``: device, station, station_name, region), worst first."""
    rows = []
    for t in targets:
        row = StationFigures(t["device"], t["station"], t["station_name"], t["region"])
        for name in FIGURES:
            setattr(row, name, values[name].get(t["device"]))
        row.watching = row.bitrate_bps is not None
        row.poor = (row.rebuffer_ratio or 0.0) > POOR_REBUFFER or (row.startup_s or 0.0) > POOR_STARTUP_S
        rows.append(row)
    return sorted(
        rows, key=lambda r: (not r.watching, -(r.rebuffer_ratio or 0.0), -(r.startup_s or 0.0), r.station)
    )


def rollup(rows: Sequence[StationFigures], depth: int = 3) -> list[RegionRollup]:
    """Per region (its first ``depth`` levels, county by default), worst rebuffering first."""
    found: dict[str, RegionRollup] = {}
    for row in rows:
        key = "/".join(row.region.split("/")[:depth])
        region = found.setdefault(key, RegionRollup(key))
        region.stations += 1
        if row.watching:
            region.watching += 1
        if row.rebuffer_ratio is not None:
            region._rebuffers.append(row.rebuffer_ratio)
            region.worst_rebuffer = max(region.worst_rebuffer, row.rebuffer_ratio)
        if row.startup_s is not None:
            region._startups.append(row.startup_s)
    for region in found.values():
        region.mean_rebuffer = sum(region._rebuffers) / len(region._rebuffers) if region._rebuffers else None
        region.mean_startup_s = sum(region._startups) / len(region._startups) if region._startups else None
    return sorted(found.values(), key=lambda r: (-r.worst_rebuffer, -(r.mean_startup_s or 0.0), r.region))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(rows: Sequence[StationFigures]) -> dict[str, dict[str, float | None]]:
    """p50/p95 of each figure over the stations that watched."""
    out = {}
    for name in ("startup_s", "rebuffer_ratio", "avg_bitrate_bps", "latency_s"):
        values = [v for r in rows if r.watching and (v := getattr(r, name)) is not None]
        out[name] = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
    return out


def _minutes(series: Iterable[Series], threshold: float = 0.0) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for s in series:
        device = s.labels.get("device")
        if device:
            out.setdefault(device, set()).update(int(t) for t, v in s.points if v > threshold)
    return out


def causes(
    tsdb: PromQuery,
    label: str,
    rows: Sequence[StationFigures],
    routers: dict[str, str],
    *,
    start: float,
    end: float,
) -> None:
    """Fill ``cause`` of each poor row from the same minutes' data (``routers``: STB -> router device)."""
    poor = [r for r in rows if r.poor]
    if not poor:
        return
    window = dict(start=start, end=end, step_s=60.0)
    stalls = _minutes(
        tsdb.query_range(f'increase(stream_stall_s{{lesson="{label}",source="probe"}}[1m])', **window)
    )
    origin = _minutes(
        tsdb.query_range(
            f'sum by (device) (increase(stream_errors_total{{lesson="{label}",kind=~"{ORIGIN_KINDS}"}}[1m]))',
            **window,
        )
    )
    dns = _minutes(
        tsdb.query_range(
            f'sum by (device) (increase(stream_errors_total{{lesson="{label}",kind="dns"}}[1m]))', **window
        )
    )
    devices = "|".join(sorted({r.device for r in poor}))
    cpu = _minutes(
        tsdb.query_range(f'max_over_time(telemetry_cpu_pct{{device=~"{devices}"}}[1m])', **window), CPU_BUSY
    )
    wan: dict[str, set[int]] = {}
    router_ids = "|".join(sorted({routers[r.device] for r in poor if r.device in routers}))
    if router_ids:
        rx = f'max by (device) (avg_over_time(iface_rx_bps{{device=~"{router_ids}"}}[1m]))'
        peak = f'max by (device) (max_over_time(iface_rx_bps{{device=~"{router_ids}"}}[7d]))'
        wan = _minutes(tsdb.query_range(f"{rx} / {peak}", **window), SATURATED)
    for row in poor:
        when = stalls.get(row.device) or set()
        router = routers.get(row.device, "")
        checks = (
            ("wan_saturated", wan.get(router, set())),
            ("origin_errors", origin.get(row.device, set())),
            ("dns_failures", dns.get(row.device, set())),
            ("device_cpu", cpu.get(row.device, set())),
        )
        found = [name for name, minutes in checks if minutes & when or (not when and minutes)]
        row.cause = ",".join(found) or "unknown"
