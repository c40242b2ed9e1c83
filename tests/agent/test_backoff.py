"""Backoff delays grow exponentially with jitter and stay within [min, max]."""

from __future__ import annotations

from station_agent.backoff import backoff_delay


def test_delays_stay_within_bounds_and_grow() -> None:
    for attempt in range(40):
        for _ in range(20):
            assert 1.0 <= backoff_delay(attempt, 1.0, 60.0) <= 60.0
    assert max(backoff_delay(0, 1.0, 60.0) for _ in range(50)) <= 1.0
    assert max(backoff_delay(10, 1.0, 60.0) for _ in range(200)) > 2.0
