"""In-memory limiters for failed attempts, keyed by source or (account, source).

``FailureLimiter``: a sliding window (portal voucher codes). ``BackoffLimiter``: a growing delay
after a free number of failures (staff logins, enrollments), which a success resets. Neither is
ever keyed by something an attacker can name for someone else alone (a serial, an account), so
failures cannot be used to lock out the legitimate holder (docs/architecture.md, "Decisions").
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RateLimited


class FailureLimiter:
    """Allows ``limit`` failures per key within ``window_s``; thread-safe, bounded in keys."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 60.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Raise RateLimited when any key has used up its failures in the window."""
        now = self._clock()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self._limit:
                    wait = self._window - (now - recent[0])
                    raise RateLimited(
                        f"too many failed attempts; try again in {wait:.0f} s", retry_after_s=wait
                    )

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._prune(now)
            for key in keys:
                self._recent(key, now).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and now - recent[0] >= self._window:
            recent.popleft()
        return recent

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or now - v[-1] >= self._window]:
            del self._failures[key]
        if len(self._failures) >= self._max_keys:  # under attack from many keys: forget the oldest half
            for key in list(self._failures)[: self._max_keys // 2]:
                del self._failures[key]


@dataclass
class _Backoff:
    failures: int
    last_failure: float
    blocked_until: float


class BackoffLimiter:
    """After ``free`` failures of one key, each further failure blocks that key for a doubling delay.

    The delay is ``base_s * 2**(failures - free)``, at most ``max_s``; a key is forgotten
    ``memory_s`` after its last failure, or by ``reset``. Thread-safe, bounded in keys.
    """

    def __init__(
        self,
        *,
        free: int,
        base_s: float,
        max_s: float,
        memory_s: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = max(1, free)
        self._base = base_s
        self._max = max_s
        self._memory = memory_s
        self._max_keys = max_keys
        self._clock = clock
        self._keys: dict[str, _Backoff] = {}
        self._lock = threading.Lock()

    def blocked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        now = self._clock()
        with self._lock:
            state = self._live(key, now)
            return max(0.0, state.blocked_until - now) if state else 0.0

    def check(self, *keys: str) -> None:
        """Raise RateLimited (with the longest wait) when any key is blocked."""
        wait = max((self.blocked_for(key) for key in keys), default=0.0)
        if wait > 0:
            raise RateLimited(f"too many failed attempts; try again in {wait:.0f} s", retry_after_s=wait)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._keys) >= self._max_keys:
                self._prune(now)
            for key in keys:
                state = self._live(key, now) or _Backoff(0, now, now)
                state.failures += 1
                state.last_failure = now
                if state.failures >= self._free:
                    delay = min(self._max, self._base * 2.0 ** min(state.failures - self._free, 64))
                    state.blocked_until = max(state.blocked_until, now + delay)
                self._keys[key] = state

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._keys.pop(key, None)

    def _live(self, key: str, now: float) -> _Backoff | None:
        state = self._keys.get(key)
        if state is not None and now - state.last_failure >= self._memory and now >= state.blocked_until:
            del self._keys[key]
            return None
        return state

    def _prune(self, now: float) -> None:
        for key in list(self._keys):
            self._live(key, now)  # drops the key once it is forgotten
        if len(self._keys) >= self._max_keys:  # under attack from many keys: forget the oldest half
            for key in list(self._keys)[: self._max_keys // 2]:
                del self._keys[key]
