"""Supervised background threads: a crashed loop is logged, counted, restarted with backoff, reported.

Every long-lived controller thread (ingest pipeline, TSDB writer, presence flusher, campaign scheduler,
WiFiDog counters flush) runs its loop through ``SupervisedThread``, a drop-in for ``threading.Thread``.
When the loop raises, the exception is logged, ``thread_restarts_total{thread}`` goes up, the thread is
"down" (``/readyz`` names it) for the backoff, and the loop is called again. A loop that returns ends
the thread normally; ``join`` means "stop": no restart after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_lock = threading.Lock()
_restarts: dict[str, int] = {}
_live: set[SupervisedThread] = set()
_backoff = [0.5, 30.0]  # seconds: first restart delay, longest delay (settings thread_restart_*)


def configure(*, min_backoff_s: float, max_backoff_s: float) -> None:
    """Set the restart delays of threads created from now on (called once from the settings)."""
    _backoff[:] = [min_backoff_s, max(min_backoff_s, max_backoff_s)]


class SupervisedThread:
    """Runs ``target`` on a daemon thread and calls it again, after a growing delay, when it raises."""

    def __init__(
        self,
        *,
        name: str,
        target: Callable[[], None],
        min_backoff_s: float | None = None,
        max_backoff_s: float | None = None,
    ) -> None:
        self.name = name
        self._target = target
        self._min = _backoff[0] if min_backoff_s is None else min_backoff_s
        self._max = max(self._min, _backoff[1] if max_backoff_s is None else max_backoff_s)
        self._stopping = threading.Event()
        self._down: str | None = None
        self._thread = threading.Thread(target=self._supervise, name=name, daemon=True)

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def start(self) -> None:
        with _lock:
            _live.add(self)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Stop restarting, and wait for the loop (which its owner has told to stop) to return."""
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def down_reason(self) -> str | None:
        """Why the thread is not doing its work right now (crashed, waiting to restart), else None."""
        return self._down

    def _supervise(self) -> None:
        delay = self._min
        try:
            while True:
                started = time.monotonic()
                try:
                    self._target()
                    return
                except Exception as exc:
                    if self._stopping.is_set():
                        log.exception("thread %s failed while stopping", self.name)
                        return
                    if time.monotonic() - started > self._max:
                        delay = self._min  # it ran fine for a while: a new fault, not a crash loop
                    log.exception("thread %s crashed; restarting in %.1f s", self.name, delay)
                    self._down = f"crashed ({type(exc).__name__}: {exc!s:.200}), restarting"
                    _count_restart(self.name)
                if self._stopping.wait(delay):
                    return
                delay = min(self._max, delay * 2)
                self._down = None
        finally:
            with _lock:
                _live.discard(self)


def _count_restart(name: str) -> None:
    with _lock:
        _restarts[name] = _restarts.get(name, 0) + 1


def restarts() -> dict[str, int]:
    """Restarts per thread name since the process started (``thread_restarts_total{thread}``)."""
    with _lock:
        return dict(_restarts)


def down_threads() -> dict[str, str]:
    """Running supervised threads that are down right now, with the reason."""
    with _lock:
        live = list(_live)
    return {thread.name: reason for thread in live if (reason := thread.down_reason()) is not None}
