"""Simulation settings and the end-of-run summary (plain dataclasses so they cross process boundaries)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from station_protocol.enrollment import EnrollResponse


@dataclass(frozen=True)
class SimulationConfig:
    """How to simulate; ``credentials`` holds one entry per simulated device."""

    credentials: tuple[EnrollResponse, ...]
    interval_s: float = 30.0  # telemetry period per device; 0 → publish ``messages_per_device`` at once
    processes: int = 1  # 0 → run in the calling process (tests, small N)
    duration_s: float | None = None  # None → until every device sent ``messages_per_device`` or stop()
    messages_per_device: int | None = None  # stop a device's telemetry after this many samples
    disconnect_rate_per_h: float = 0.0  # expected abrupt drops per device per hour (will fires)
    reconnect_delay_s: tuple[float, float] = (5.0, 60.0)  # uniform wait before reconnecting after a drop
    connect_rate_per_s: float = 500.0  # per process; bounds the SYN burst at start and after outages
    keepalive_s: int = 60
    qos: int = 1
    mqtt_host: str | None = None  # override what the credentials say (e.g. a tunnel or test broker)
    mqtt_port: int | None = None
    agent_version: str = "sim-0.1.0"
    seed: int = 0
    report_interval_s: float = 5.0
    drain_timeout_s: float = 30.0  # at the end, wait this long for outstanding PUBACKs


@dataclass
class WorkerStats:
    """Counters of one worker; the runner adds them up."""

    devices: int = 0
    connected: int = 0
    connected_max: int = 0
    connects: int = 0
    connect_failures: int = 0
    reconnects: int = 0
    drops_injected: int = 0
    disconnects: int = 0
    births: int = 0
    telemetry_queued: int = 0
    telemetry_acked: int = 0
    messages_acked: int = 0
    commands_answered: int = 0
    configs_reported: int = 0
    done: bool = False

    def add(self, other: WorkerStats) -> None:
        for name, value in asdict(other).items():
            if name == "done":
                self.done = self.done and other.done
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass
class SimulationSummary:
    """What a run did; ``to_dict`` is the ``--json`` output."""

    devices: int
    processes: int
    duration_s: float
    stats: WorkerStats = field(default_factory=WorkerStats)

    @property
    def messages_per_s(self) -> float:
        return self.stats.messages_acked / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"devices": self.devices, "processes": self.processes}
        out["duration_s"] = round(self.duration_s, 3)
        out["messages_per_s"] = round(self.messages_per_s, 1)
        out.update({k: v for k, v in asdict(self.stats).items() if k not in ("devices", "done")})
        return out
