"""Jinja2 environment of the console (autoescaped) and the number/time filters its pages use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from ..kernel.clock import as_utc

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")  # staff read times in Beijing time; the DB stays UTC


def fmt_bps(value: float | None) -> str:
    """Bits per second with a decimal SI prefix, e.g. ``2.5 Mbit/s``."""
    if value is None:
        return "–"
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} bit/s"


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


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    env = templates.env
    env.autoescape = True  # every .html template escapes; hostile station names stay text
    env.filters.update(
        bps=fmt_bps, pct=fmt_pct, temp=fmt_temp, duration=fmt_duration, time=fmt_time, iso=iso_time
    )
    return templates


templates = make_templates()
