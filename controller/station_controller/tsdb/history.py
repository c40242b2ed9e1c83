"""Whitelisted history metrics → PromQL, and range/step parsing (never raw user input in a query)."""

from __future__ import annotations

import re

from station_protocol import is_valid_device_id

from ..errors import InvalidInput

# Per-device PromQL; ``{sel}`` is filled with a validated device selector only.
METRICS: dict[str, str] = {
    "rx_bps": 'sum(iface_rx_bps{{{sel},iface!="lo"}})',
    "tx_bps": 'sum(iface_tx_bps{{{sel},iface!="lo"}})',
    "cpu_pct": "max(telemetry_cpu_pct{{{sel}}})",
    "load1": "max(telemetry_load1{{{sel}}})",
    "mem_used": "max(telemetry_mem_used{{{sel}}})",
    "mem_total": "max(telemetry_mem_total{{{sel}}})",
    "disk_used": "max(telemetry_disk_used{{{sel}}})",
    "disk_total": "max(telemetry_disk_total{{{sel}}})",
    "temp_c": "max(telemetry_temp_c{{{sel}}})",
    "uptime_s": "max(telemetry_uptime_s{{{sel}}})",
    "queue_depth": "max(telemetry_queue_depth{{{sel}}})",
    "queue_dropped": "max(telemetry_queue_dropped{{{sel}}})",
    "seq": "max(telemetry_seq{{{sel}}})",
    "events": "sum(count_over_time(event_count{{{sel}}}[{step}s]))",
}
_DURATION = re.compile(r"^([1-9][0-9]{0,4})([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_RANGE_S = 400 * 86400
MAX_POINTS = 1000
MIN_STEP_S = 15


def parse_duration(value: str, what: str) -> int:
    """``90s``, ``15m``, ``1h``, ``7d``, ``2w`` → seconds.

    Raises:
        InvalidInput: anything else.
    """
    match = _DURATION.match(value)
    if match is None:
        raise InvalidInput(f"{what}={value!r}: use a number and a unit s/m/h/d/w, e.g. 1h or 7d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def plan(device_id: str, metric: str, range_text: str, step_text: str | None) -> tuple[str, int, int]:
    """(promql, range_s, step_s) for a history request; the step keeps answers under MAX_POINTS.

    Raises:
        InvalidInput: unknown metric, bad device id or duration.
    """
    template = METRICS.get(metric)
    if template is None:
        raise InvalidInput(f"metric={metric!r} is not one of {sorted(METRICS)}")
    if not is_valid_device_id(device_id):
        raise InvalidInput(f"device id {device_id!r} is not valid")
    range_s = parse_duration(range_text, "range")
    if range_s > MAX_RANGE_S:
        raise InvalidInput(f"range={range_text!r} is longer than {MAX_RANGE_S // 86400} days")
    floor = max(MIN_STEP_S, -(-range_s // MAX_POINTS))
    step_s = max(floor, parse_duration(step_text, "step")) if step_text else floor
    # Device ids match [a-z0-9-]+ (checked above), so quoting them in a selector is safe.
    return template.format(sel=f'device="{device_id}"', step=step_s), range_s, step_s
