"""The player app's endpoint: HTTP over a Unix socket on the box (the package's only http.server user).

``POST /v1/player/events`` with a JSON event (player.py); ``GET /v1/player/wanted``: what a lesson asks
the player app to play (wanted.py), 204 when nothing (docs/monitoring.md "Player endpoint"). A
Unix socket, not a TCP port: nothing off the box (nor another user without the socket's group) can
post, and several agents on one machine do not collide. Hostile input is bounded: 4 KiB per body, a
2 s read deadline per request, at most ``rate_per_s`` events a second (429 above), strict schema (400).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from .player import BadEvent, PlayerSessions, parse_event
from .report import QoeSink
from .wanted import WantedPlayback

log = logging.getLogger(__name__)
PATH = "/v1/player/events"
WANTED_PATH = "/v1/player/wanted"
MAX_BODY = 4096


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate_per_s, burst, clock
        self._tokens, self._at = burst, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class PlayerIntake:
    """Parses, rate-limits and applies one posted body; returns (HTTP status, message)."""

    def __init__(
        self, sink: QoeSink, *, rate_per_s: float = 20.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sink = sink
        self._sessions = PlayerSessions()
        self._bucket = TokenBucket(rate_per_s, rate_per_s, clock)
        self._clock = clock
        self._lock = threading.Lock()

    def post(self, body: bytes) -> tuple[int, str]:
        with self._lock:
            if not self._bucket.take():
                return 429, "too many events"
            try:
                event = parse_event(body)
            except BadEvent as exc:
                return 400, str(exc)
            report = self._sessions.apply(event, self._clock())
        self._sink.emit(report)
        return 202, "accepted"


class PlayerEndpoint:
    """Serves the socket on its own thread until the agent's stop event."""

    def __init__(
        self, socket_path: Path, intake: PlayerIntake, wanted: Optional[WantedPlayback] = None
    ) -> None:
        self.socket_path = socket_path
        self._intake = intake
        self._wanted = wanted if wanted is not None else WantedPlayback()

    def run(self, stop: threading.Event) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        from .endpoint_http import serve_unix  # http.server (and email) only once the thread runs

        server = serve_unix(str(self.socket_path), self._intake, self._wanted)
        server.timeout = 0.5
        os.chmod(self.socket_path, 0o660)
        log.info("player endpoint on %s", self.socket_path)
        try:
            while not stop.is_set():
                server.handle_request()  # one at a time: a box has one player app
        finally:
            server.server_close()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
