"""Jittered exponential backoff shared by the broker link and enrollment."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, minimum: float, maximum: float) -> float:
    """Delay before retry number ``attempt`` (0-based): full jitter over min * 2**attempt, capped at max.

    Jitter keeps thousands of stations from reconnecting in lockstep after a broker restart.
    """
    ceiling = min(maximum, minimum * (2 ** min(attempt, 30)))
    return random.uniform(minimum, max(minimum, ceiling))
