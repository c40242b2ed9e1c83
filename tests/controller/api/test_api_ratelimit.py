"""FailureLimiter: failures per key in a sliding window, on an injected clock."""

from __future__ import annotations

import pytest

from station_controller.api.ratelimit import FailureLimiter
from station_controller.errors import RateLimited
from tests.fakes.clock import SecondsClock


def test_blocks_after_limit_failures_until_the_window_passes() -> None:
    clock = SecondsClock()
    limiter = FailureLimiter(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        limiter.check("ip:1")
        limiter.failed("ip:1", "user:a")
    with pytest.raises(RateLimited) as blocked:
        limiter.check("ip:2", "user:a")
    assert 59 <= blocked.value.retry_after_s <= 60
    limiter.check("ip:2", "user:b")  # other keys are unaffected
    clock.now += 60
    limiter.check("ip:1", "user:a")


def test_reset_forgets_a_key_and_key_count_stays_bounded() -> None:
    clock = SecondsClock()
    limiter = FailureLimiter(limit=1, window_s=60, max_keys=10, clock=clock)
    limiter.failed("user:a")
    limiter.reset("user:a")
    limiter.check("user:a")
    for n in range(100):
        limiter.failed(f"ip:{n}")
    assert len(limiter._failures) <= 10 + 1
