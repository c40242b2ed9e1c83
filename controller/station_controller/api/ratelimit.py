"""In-memory sliding-window limiter for failed attempts (logins, enrollments), keyed by IP or name."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

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
