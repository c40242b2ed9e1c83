"""Host measurements: the only module that imports psutil, behind the ``SystemMetrics`` Protocol."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Protocol, Tuple

import psutil


@dataclass(frozen=True)
class InterfaceBytes:
    name: str
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True)
class MetricsSample:
    """One reading; ``monotonic`` is time.monotonic() when it was taken (for rates)."""

    monotonic: float
    cpu_pct: float
    load1: float
    mem_total: int
    mem_used: int
    disk_total: int
    disk_used: int
    uptime_s: float
    temp_c: Optional[float] = None
    interfaces: Tuple[InterfaceBytes, ...] = ()


class SystemMetrics(Protocol):
    def sample(self) -> MetricsSample: ...

    def hardware(self) -> Dict[str, Any]: ...


class PsutilMetrics:
    """Reads the host through psutil; cheap enough for a 30 s interval on a 256 MB device."""

    def __init__(self, content_path: str) -> None:
        self._content_path = content_path
        psutil.cpu_percent(interval=None)  # primes the counter: the next call measures since now

    def sample(self) -> MetricsSample:
        mem = psutil.virtual_memory()
        disk = psutil.disk_usage(self._content_path)
        counters = psutil.net_io_counters(pernic=True)
        return MetricsSample(
            monotonic=time.monotonic(),
            cpu_pct=float(psutil.cpu_percent(interval=None)),
            load1=float(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0.0,
            mem_total=int(mem.total),
            mem_used=int(mem.total - mem.available),
            disk_total=int(disk.total),
            disk_used=int(disk.used),
            uptime_s=max(0.0, time.time() - psutil.boot_time()),
            temp_c=_temperature(),
            interfaces=tuple(
                InterfaceBytes(name, int(c.bytes_recv), int(c.bytes_sent))
                for name, c in sorted(counters.items())
            ),
        )

    def hardware(self) -> Dict[str, Any]:
        return {
            "model": _model(),
            "arch": platform.machine(),
            "cpu_count": psutil.cpu_count() or 1,
            "mem_total": int(psutil.virtual_memory().total),
        }


def _temperature() -> Optional[float]:
    """Hottest sensor reading, or None where the platform has no sensors."""
    reader = getattr(psutil, "sensors_temperatures", None)
    if reader is None:
        return None
    try:
        readings = [t.current for entries in reader().values() for t in entries if t.current is not None]
    except (OSError, RuntimeError):
        return None
    valid = [float(r) for r in readings if -100.0 <= r <= 200.0]
    return max(valid) if valid else None


def _model() -> str:
    for candidate in ("/proc/device-tree/model", "/sys/class/dmi/id/product_name"):
        try:
            text = Path(candidate).read_text(encoding="utf-8", errors="replace").strip("\x00 \n")
        except OSError:
            continue
        if text:
            return text[:64]
    return "unknown"
