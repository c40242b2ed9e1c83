"""The modelled playback buffer: media in, wall time out; startup, stalls and play time.

Figures (docs/monitoring.md): startup time from the play request to the first frame (playback starts
once ``start_buffer_s`` is buffered, Mux "Video Startup Time"); a stall starts when the buffer runs dry
while playing and ends when ``resume_buffer_s`` is buffered again; rebuffering ratio is
stall time / (stall time + play time), the startup wait excluded (CTA-2066; Conviva "rebuffering ratio").
"""

from __future__ import annotations

from typing import Optional

STARTUP, PLAYING, STALLED, STOPPED = "startup", "playing", "stalled", "stopped"


class Playback:
    def __init__(self, *, requested_at: float, start_buffer_s: float, resume_buffer_s: float) -> None:
        self._requested_at = requested_at
        self._start = start_buffer_s
        self._resume = resume_buffer_s
        self._last = requested_at
        self.state = STARTUP
        self.buffer_s = 0.0
        self.startup_s: Optional[float] = None
        self.stall_count = 0
        self.stall_s = 0.0
        self.play_s = 0.0

    def advance(self, now: float) -> None:
        """Play (or stall) from the last call until ``now``."""
        elapsed, self._last = max(0.0, now - self._last), max(now, self._last)
        if self.state == PLAYING:
            played = min(elapsed, self.buffer_s)
            self.buffer_s -= played
            self.play_s += played
            if elapsed > played or self.buffer_s <= 0.0:
                self.buffer_s = 0.0
                self.state = STALLED
                self.stall_count += 1
                self.stall_s += elapsed - played
        elif self.state == STALLED:
            self.stall_s += elapsed

    def add(self, duration_s: float, now: float) -> None:
        """A segment of ``duration_s`` finished downloading at ``now``."""
        self.advance(now)
        self.buffer_s += duration_s
        if self.state == STARTUP and self.buffer_s >= self._start:
            self.state = PLAYING
            self.startup_s = now - self._requested_at
        elif self.state == STALLED and self.buffer_s >= self._resume:
            self.state = PLAYING

    def end_of_stream(self, now: float) -> None:
        """A VOD's last segment is in: what is buffered plays out (no stall), then playback stops."""
        self.advance(now)
        if self.state == PLAYING:
            self.play_s += self.buffer_s
        self.buffer_s = 0.0
        self.state = STOPPED

    def stop(self, now: float) -> None:
        self.advance(now)
        self.state = STOPPED

    def rebuffer_ratio(self) -> float:
        total = self.stall_s + self.play_s
        return self.stall_s / total if total > 0 else 0.0
