"""What the controller asked the box's player app to play (``stream.probe`` with ``play``), until when.

Set by the stream commands (the command thread), read by the player endpoint's thread
(``GET /v1/player/wanted``); a player app that is not integrated never asks, and the probe measures anyway.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Optional

from station_protocol import now_ms


@dataclass(frozen=True)
class Wanted:
    url: str
    lesson: Optional[str]
    until_ms: int

    def as_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Optional[Wanted]:
        """From the state store; None for anything else (an older agent's or a damaged value)."""
        if not isinstance(data, dict):
            return None
        url, lesson, until = data.get("url"), data.get("lesson"), data.get("until_ms")
        if (
            not isinstance(url, str)
            or not isinstance(until, int)
            or not isinstance(lesson, (str, type(None)))
        ):
            return None
        return cls(url=url, lesson=lesson, until_ms=until)


class WantedPlayback:
    """At most one wanted playback: the next probe replaces it, a stop clears it, ``until_ms`` ends it."""

    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._wanted: Optional[Wanted] = None

    def set(self, wanted: Optional[Wanted]) -> None:
        with self._lock:
            self._wanted = wanted

    def get(self) -> Optional[Wanted]:
        """The wanted playback, or None (none asked, or its window has passed)."""
        with self._lock:
            if self._wanted is not None and self._wanted.until_ms <= self._clock():
                self._wanted = None
            return self._wanted
