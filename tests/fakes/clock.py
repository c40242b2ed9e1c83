"""An injectable clock in float seconds that moves only when the test says so."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SecondsClock:
    """``clock()`` returns ``now``; tests advance it with ``clock.now += seconds``."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now
