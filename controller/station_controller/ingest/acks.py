"""Acknowledgement handles that travel with each uplink until it is stored (durable ingest).

An ``Ack`` is called exactly once, from whichever thread finished storing the message (pipeline,
TSDB writer); the MQTT client turns it into a PUBACK. ``Latch`` waits for several stores of one
message (an event goes to the TSDB and to a feature) before acknowledging it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Ack = Callable[[], None]


def no_ack() -> None:
    """For QoS 0 messages and tests: nothing to acknowledge."""


class Latch:
    """Calls ``done`` once, after ``parts`` calls of ``part`` (from any threads)."""

    __slots__ = ("_left", "_done", "_lock")

    def __init__(self, parts: int, done: Ack) -> None:
        self._left = parts
        self._done = done
        self._lock = threading.Lock()

    def part(self) -> None:
        with self._lock:
            self._left -= 1
            finished = self._left == 0
        if finished:
            self._done()
