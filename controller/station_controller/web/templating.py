"""Jinja2 environments (always autoescaped) and the number/time filters every page may use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from ..kernel.clock import as_utc

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")  # staff read times in Beijing time; the DB stays UTC


def fmt_bps(value: float | None) -> str:
    """Bits per second with a decimal SI prefix, e.g. ``2.5 Mbit/s``."""
    if value is None:
        return "–"
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} bit/s"


def fmt_bytes(value: float | None) -> str:
    """Bytes with a decimal SI prefix, e.g. ``1.5 MB``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value and value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value or 0:.0f} B"


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


def fmt_temp(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} °C"


def fmt_duration(seconds: float | None) -> str:
    """``3d 4h``, ``5h 12m`` or ``42m``."""
    if seconds is None:
        return "–"
    minutes = int(seconds) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def fmt_time(value: datetime | None) -> str:
    """Beijing local time, to the second; ``–`` when unknown."""
    if value is None:
        return "–"
    return as_utc(value).astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def iso_time(value: datetime | None) -> str:
    return as_utc(value).isoformat() if value else ""


FILTERS = {
    "bps": fmt_bps,
    "pct": fmt_pct,
    "temp": fmt_temp,
    "duration": fmt_duration,
    "time": fmt_time,
    "iso": iso_time,
    "bytes": fmt_bytes,
}


def make_templates(directories: Sequence[Path]) -> Jinja2Templates:
    """Templates looked up in ``directories`` in order, with every filter above."""
    templates = Jinja2Templates(directory=[str(d) for d in directories])
    env = templates.env
    env.autoescape = True  # every .html template escapes; hostile station names stay text
    env.filters.update(FILTERS)
    return templates
