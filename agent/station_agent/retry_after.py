"""HTTP ``Retry-After`` (RFC 9110 §10.2.3) and the wait it implies, for every HTTP call the agent makes.

A throttled agent waits at least what the server asked for, plus jitter so that a thousand boxes told
"60" do not come back in the same second, and never longer than ``cap_s`` (a bogus date years ahead
must not park a box for good). Repeated refusals still back off exponentially on top.
"""

from __future__ import annotations

import random
from typing import Optional

from .backoff import backoff_delay


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date); None if absent or bad."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    from email.utils import parsedate_to_datetime  # only for the date form: ``email`` is not loaded at start

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 850 / asctime forms carry no zone; HTTP dates are GMT
        return None
    return max(0.0, when.timestamp() - now)


def retry_delay(
    attempt: int, retry_after_s: Optional[float], *, minimum: float, maximum: float, cap_s: float
) -> float:
    """Delay before retry ``attempt`` (0-based): jittered backoff, and at least the server's Retry-After."""
    delay = backoff_delay(attempt, minimum, maximum)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s + random.uniform(0, minimum))
    return min(delay, cap_s)
