"""Plausible telemetry: a diurnal bandwidth curve peaking for evening live lessons, CPU/memory noise."""

from __future__ import annotations

import math
import random

from station_protocol.messages import InterfaceCounters, Telemetry

# (centre hour, width in hours, height): morning classes, afternoon courseware, evening live lessons.
_PEAKS = ((10.0, 1.5, 0.30), (15.0, 2.0, 0.35), (20.0, 1.3, 0.95))
_NIGHT_FLOOR = 0.04
CHINA_UTC_OFFSET_H = 8.0
_MIB = 1024 * 1024


def _hour_distance(a: float, b: float) -> float:
    d = abs(a - b) % 24.0
    return min(d, 24.0 - d)


def diurnal_factor(hour: float) -> float:
    """Share (0..1] of a station's peak bandwidth at local ``hour``; highest around 20:00."""
    value = _NIGHT_FLOOR
    for centre, width, height in _PEAKS:
        value += height * math.exp(-(_hour_distance(hour % 24.0, centre) ** 2) / (2 * width * width))
    return min(1.0, value)


def local_hour(epoch_s: float, utc_offset_h: float = CHINA_UTC_OFFSET_H) -> float:
    return ((epoch_s / 3600.0) + utc_offset_h) % 24.0


class TelemetryModel:
    """One device's sample generator; ``seq`` and byte counters keep growing across reconnects."""

    def __init__(self, *, role: str, rng: random.Random, interval_s: float, boot_at: float) -> None:
        self.role = role
        self._rng = rng
        self._interval_s = interval_s
        self._boot_at = boot_at
        self.seq = 0
        self._peak_bps = rng.uniform(2e6, 20e6)  # uplinks are 2-20 Mbit/s
        self._mem_total = (1024 if role == "stb" else 256) * _MIB
        self._disk_total = (16 * 1024 if role == "stb" else 128) * _MIB
        self._disk_used = int(self._disk_total * rng.uniform(0.2, 0.7))
        self._base_cpu = rng.uniform(2.0, 10.0)
        self._ifaces = ("eth0",) if role == "stb" else ("wan", "wlan0")
        self._counters = {name: [0, 0] for name in self._ifaces}

    def sample(self, now: float) -> Telemetry:
        """The next sample at wall-clock ``now`` (epoch seconds)."""
        self.seq += 1
        load = diurnal_factor(local_hour(now)) * self._rng.uniform(0.8, 1.1)
        cpu = self._clamp(self._base_cpu + 45.0 * load + self._rng.gauss(0.0, 3.0), 0.0, 100.0)
        mem_used = int(
            self._mem_total * self._clamp(0.35 + 0.3 * load + self._rng.gauss(0.0, 0.02), 0.05, 0.97)
        )
        return Telemetry(
            seq=self.seq,
            interval_s=self._interval_s,
            cpu_pct=round(cpu, 1),
            load1=round(max(0.0, cpu / 100.0 * 4 + self._rng.gauss(0.0, 0.1)), 2),
            mem_total=self._mem_total,
            mem_used=mem_used,
            disk_total=self._disk_total,
            disk_used=self._disk_used,
            uptime_s=round(max(0.0, now - self._boot_at), 1),
            temp_c=round(38.0 + cpu * 0.3 + self._rng.gauss(0.0, 0.5), 1),
            interfaces=tuple(self._interface(name, load) for name in self._ifaces),
        )

    def _interface(self, name: str, load: float) -> InterfaceCounters:
        # Downstream (rx) dominates on the STB's uplink and the router's WAN; WiFi clients mirror it as tx.
        down = self._peak_bps * load * self._rng.uniform(0.9, 1.0)
        up = down * self._rng.uniform(0.03, 0.08)
        rx_bps, tx_bps = (up, down) if name == "wlan0" else (down, up)
        counters = self._counters[name]
        period = self._interval_s if self._interval_s > 0 else 1.0
        counters[0] += int(rx_bps * period / 8)
        counters[1] += int(tx_bps * period / 8)
        return InterfaceCounters(
            name=name, rx_bytes=counters[0], tx_bytes=counters[1], rx_bps=round(rx_bps), tx_bps=round(tx_bps)
        )

    @staticmethod
    def _clamp(value: float, low: float, high: float) -> float:
        return max(low, min(high, value))
