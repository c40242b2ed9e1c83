"""Fakes behind the agent's adapter Protocols (Link, SystemMetrics, ProcessRunner) for unit tests."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from station_agent.mqtt import Inbound
from station_agent.system_metrics import InterfaceBytes, MetricsSample


class FakeHandle:
    """A publish the test acknowledges (or not) by hand."""

    def __init__(self, acked: bool) -> None:
        self._acked = threading.Event()
        if acked:
            self._acked.set()

    def ack(self) -> None:
        self._acked.set()

    def wait(self, timeout: float) -> bool:
        return self._acked.wait(timeout)


@dataclass
class Published:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    handle: FakeHandle


class FakeLink:
    """Records publishes; ``auto_ack`` decides whether the "broker" acknowledges them at once."""

    def __init__(self, *, connected: bool = True, auto_ack: bool = True) -> None:
        self.inbound: queue.Queue[Inbound] = queue.Queue()
        self.auto_ack = auto_ack
        self.published: List[Published] = []
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self.started = False
        self.stopped = False
        if connected:
            self._connected.set()

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped = True

    def is_connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def set_connected(self, up: bool) -> None:
        if up:
            self._connected.set()
        else:
            self._connected.clear()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> FakeHandle:
        handle = FakeHandle(self.auto_ack)
        with self._lock:
            self.published.append(Published(topic, payload, qos, retain, handle))
        return handle

    def payloads(self, suffix: str = "") -> List[bytes]:
        with self._lock:
            return [p.payload for p in self.published if p.topic.endswith(suffix)]


@dataclass
class FakeSystemMetrics:
    """Returns queued samples in order (the last one repeats); time is whatever the test says."""

    samples: List[MetricsSample] = field(default_factory=list)
    hardware_info: Dict[str, Any] = field(
        default_factory=lambda: {"model": "fake", "arch": "armv7l", "cpu_count": 4, "mem_total": 1 << 30}
    )
    calls: int = 0

    def sample(self) -> MetricsSample:
        index = min(self.calls, len(self.samples) - 1)
        self.calls += 1
        return self.samples[index]

    def hardware(self) -> Dict[str, Any]:
        return dict(self.hardware_info)


def sample(
    at: float, interfaces: Sequence[Tuple[str, int, int]] = (), *, temp_c: Optional[float] = None
) -> MetricsSample:
    """A MetricsSample taken at monotonic time ``at`` with (name, rx_bytes, tx_bytes) counters."""
    return MetricsSample(
        monotonic=at,
        cpu_pct=12.5,
        load1=0.3,
        mem_total=1 << 30,
        mem_used=1 << 28,
        disk_total=8 << 30,
        disk_used=2 << 30,
        uptime_s=3600.0 + at,
        temp_c=temp_c,
        interfaces=tuple(InterfaceBytes(n, rx, tx) for n, rx, tx in interfaces),
    )


class FakeRunner:
    """Records what would have been started."""

    def __init__(self) -> None:
        self.spawned: List[List[str]] = []

    def spawn(self, argv: Sequence[str]) -> int:
        self.spawned.append(list(argv))
        return 4242
