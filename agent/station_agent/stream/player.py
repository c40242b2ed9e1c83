"""The player app's own events (play, first frame, stall start/end, bitrate, error) as QoE sessions.

Times are the agent's (monotonic, at receipt), not the player's: a box's clock cannot be trusted and
the figures are then comparable with the probe's. Same definitions as playback.py: startup = first
frame - play; rebuffering ratio = stall time / (stall time + play time) (CTA-2066).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from station_protocol.stream import Qoe

EVENTS = ("play", "first_frame", "stall_start", "stall_end", "bitrate", "error", "stop")
KEYS = frozenset({"event", "session", "url", "bitrate_bps", "error", "lesson"})
_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_SESSIONS = 4
MAX_ERROR_CHARS = 200


class BadEvent(ValueError):
    """The posted event is not one we take; the message names the field (answered 400)."""


@dataclass(frozen=True)
class PlayerEvent:
    event: str
    session: str
    url: Optional[str] = None
    bitrate_bps: Optional[int] = None
    error: Optional[str] = None
    lesson: Optional[str] = None


def parse_event(raw: bytes) -> PlayerEvent:
    """Strict: a JSON object with known keys and bounded values, or BadEvent."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadEvent("body: not a JSON object") from None
    if not isinstance(data, dict):
        raise BadEvent("body: not a JSON object")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise BadEvent(f"body: unknown field(s) {unknown[:8]}; allowed: {sorted(KEYS)}")
    event = data.get("event")
    if event not in EVENTS:
        raise BadEvent(f"event: one of {list(EVENTS)}")
    session = _token(data, "session") or "default"
    url = data.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2048
    ):
        raise BadEvent("url: an http(s) URL of at most 2048 characters")
    bitrate = data.get("bitrate_bps")
    if bitrate is not None and (
        isinstance(bitrate, bool) or not isinstance(bitrate, int) or not 0 <= bitrate <= 10**10
    ):
        raise BadEvent("bitrate_bps: an integer 0..1e10")
    if event == "bitrate" and bitrate is None:
        raise BadEvent("bitrate_bps: required for a bitrate event")
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        raise BadEvent("error: a string")
    clean = None if error is None else "".join(ch for ch in error if ch.isprintable())[:MAX_ERROR_CHARS]
    return PlayerEvent(event, session, url, bitrate, clean, _token(data, "lesson"))


def _token(data: Dict[str, Any], key: str) -> Optional[str]:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise BadEvent(f"{key}: 1-64 characters of A-Z a-z 0-9 . _ : -")
    return value


@dataclass
class PlayerSession:
    started: float
    url: str = "http://player.invalid/"
    lesson: Optional[str] = None
    state: str = "startup"
    first_frame: Optional[float] = None
    stall_since: Optional[float] = None
    stall_count: int = 0
    stall_s: float = 0.0
    bitrate_bps: int = 0
    switches: int = 0
    last_report: float = 0.0
    errors: Dict[str, int] = field(default_factory=dict)

    def play_s(self, now: float) -> float:
        if self.first_frame is None:
            return 0.0
        stalled = self.stall_s + (now - self.stall_since if self.stall_since is not None else 0.0)
        return max(0.0, now - self.first_frame - stalled)

    def stall_total(self, now: float) -> float:
        return self.stall_s + (now - self.stall_since if self.stall_since is not None else 0.0)


class PlayerSessions:
    """At most MAX_SESSIONS sessions (the oldest goes); each event updates one and yields a report."""

    def __init__(self) -> None:
        self._sessions: Dict[str, PlayerSession] = {}

    def apply(self, ev: PlayerEvent, now: float) -> Qoe:
        s = self._session(ev, now)
        if ev.url is not None:
            s.url = ev.url
        if ev.lesson is not None:
            s.lesson = ev.lesson
        self._transition(s, ev, now)
        report = self.report(ev.session, s, now)
        if ev.event == "stop":
            self._sessions.pop(ev.session, None)
        return report

    def _session(self, ev: PlayerEvent, now: float) -> PlayerSession:
        s = self._sessions.get(ev.session)
        if s is None or ev.event == "play":
            s = PlayerSession(started=now, last_report=now)
            self._sessions[ev.session] = s
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
        return s

    @staticmethod
    def _transition(s: PlayerSession, ev: PlayerEvent, now: float) -> None:
        if ev.event == "first_frame" and s.first_frame is None:
            s.first_frame, s.state = now, "playing"
        elif ev.event == "stall_start" and s.stall_since is None and s.first_frame is not None:
            s.stall_since, s.state = now, "stalled"
            s.stall_count += 1
        elif ev.event == "stall_end" and s.stall_since is not None:
            s.stall_s += now - s.stall_since
            s.stall_since, s.state = None, "playing"
        elif ev.event == "bitrate" and ev.bitrate_bps is not None:
            if s.bitrate_bps and ev.bitrate_bps != s.bitrate_bps:
                s.switches += 1
            s.bitrate_bps = ev.bitrate_bps
        elif ev.event == "error":
            s.errors["player"] = s.errors.get("player", 0) + 1
        elif ev.event == "stop":
            if s.stall_since is not None:
                s.stall_s += now - s.stall_since
                s.stall_since = None
            s.state = "stopped"

    @staticmethod
    def report(session: str, s: PlayerSession, now: float) -> Qoe:
        stall, play = s.stall_total(now), s.play_s(now)
        interval, s.last_report = now - s.last_report, now
        return Qoe(
            source="player",
            session=session,
            url=s.url,
            state=s.state,
            interval_s=round(max(0.0, interval), 3),
            errors=dict(s.errors),
            lesson=s.lesson,
            startup_s=None if s.first_frame is None else round(s.first_frame - s.started, 3),
            stall_count=s.stall_count,
            stall_s=round(stall, 3),
            play_s=round(play, 3),
            rebuffer_ratio=round(stall / (stall + play), 6) if stall + play > 0 else 0.0,
            bitrate_bps=s.bitrate_bps,
            switches=s.switches,
        )
