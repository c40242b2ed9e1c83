"""In-process wake-ups for API requests waiting on a command result (ingest calls ``notify``)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class ResultWaiters:
    """Thread-safe map of command id → events; register before publishing so no result is missed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, set[threading.Event]] = {}

    @contextmanager
    def expect(self, command_id: str) -> Iterator[threading.Event]:
        """An event set when ``notify(command_id)`` is called while the block runs."""
        event = threading.Event()
        with self._lock:
            self._events.setdefault(command_id, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                waiting = self._events.get(command_id)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._events[command_id]

    def notify(self, command_id: str) -> None:
        """Wake everyone waiting on ``command_id`` (no-op when nobody waits)."""
        with self._lock:
            events = list(self._events.get(command_id, ()))
        for event in events:
            event.set()

    def notify_many(self, command_ids: Iterable[str]) -> None:
        for command_id in command_ids:
            self.notify(command_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)
