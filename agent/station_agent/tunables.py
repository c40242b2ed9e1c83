"""Settings that desired config may change while the agent runs; readers always see the current value."""

from __future__ import annotations

import threading


class Tunables:
    """Thread-safe live values; ``changed`` wakes the telemetry timer when the interval moves."""

    def __init__(self, *, telemetry_interval_s: float, command_timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._interval = telemetry_interval_s
        self._command_timeout = command_timeout_s
        self.changed = threading.Event()

    @property
    def telemetry_interval_s(self) -> float:
        with self._lock:
            return self._interval

    @property
    def command_timeout_s(self) -> float:
        with self._lock:
            return self._command_timeout

    def update(self, *, telemetry_interval_s: float, command_timeout_s: float) -> None:
        with self._lock:
            self._interval = telemetry_interval_s
            self._command_timeout = command_timeout_s
        self.changed.set()
