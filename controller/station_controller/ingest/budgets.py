"""Per-device message and byte budgets: a token bucket per device, and a quarantine for devices that flood.

A device within its budget is admitted. The first message over budget puts the device in quarantine
for ``quarantine_s``: every message it sends meanwhile is refused (the pipeline acknowledges and counts
it ``rate_limited``), and ``on_quarantine`` is called once, so staff get one event per quarantine.
The defaults (settings.py) give every device a burst larger than an agent's whole store-and-forward
outbox, so an honest device catching up after days offline is never refused (docs/architecture.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetLimits:
    """Sustained rates and bursts (bucket sizes) per device; ``quarantine_s`` after the first excess."""

    messages_per_s: float
    message_burst: float
    bytes_per_s: float
    byte_burst: float
    quarantine_s: float


@dataclass(frozen=True)
class Quarantine:
    """Why and until when (monotonic clock) a device is refused."""

    device_id: str
    reason: str  # "messages" or "bytes": which bucket ran dry
    until: float
    duration_s: float


class _Bucket:
    __slots__ = ("messages", "octets", "stamp", "quarantined_until")

    def __init__(self, limits: BudgetLimits, now: float) -> None:
        self.messages = limits.message_burst
        self.octets = limits.byte_burst
        self.stamp = now
        self.quarantined_until = 0.0


class DeviceBudgets:
    """Token buckets keyed by device id; ``admit`` is called from the one pipeline thread."""

    def __init__(
        self,
        limits: BudgetLimits,
        *,
        on_quarantine: Callable[[Quarantine], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._on_quarantine = on_quarantine
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # quarantined() is read from other threads (API, tests)

    def admit(self, device_id: str, size: int) -> bool:
        """Take one message of ``size`` bytes from the device's budget; False while it is quarantined."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(device_id)
            if bucket is None:
                bucket = self._buckets[device_id] = _Bucket(self._limits, now)
            if now < bucket.quarantined_until:
                return False
            self._refill(bucket, now)
            if bucket.messages >= 1.0 and bucket.octets >= size:
                bucket.messages -= 1.0
                bucket.octets -= size
                return True
            reason = "messages" if bucket.messages < 1.0 else "bytes"
            bucket.quarantined_until = now + self._limits.quarantine_s
            event = Quarantine(device_id, reason, bucket.quarantined_until, self._limits.quarantine_s)
        log.warning(
            "%s: over its %s budget; quarantined for %.0f s (its messages are dropped and counted)",
            device_id,
            reason,
            self._limits.quarantine_s,
        )
        if self._on_quarantine is not None:
            self._on_quarantine(event)
        return False

    def quarantined(self) -> list[str]:
        """Device ids in quarantine now."""
        now = self._clock()
        with self._lock:
            return sorted(d for d, b in self._buckets.items() if now < b.quarantined_until)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = max(0.0, now - bucket.stamp)
        bucket.stamp = now
        limits = self._limits
        bucket.messages = min(limits.message_burst, bucket.messages + elapsed * limits.messages_per_s)
        bucket.octets = min(limits.byte_burst, bucket.octets + elapsed * limits.bytes_per_s)
