"""``stream.*`` wire specs: the STB's HLS probe command and its QoE reports (docs/protocol.md "Stream").

One event, ``stream.qoe``, carries the figures of one playback session (the agent's player model, or
the box's own player app when ``source`` is ``player``); docs/monitoring.md "Stream quality" defines
each figure. Counters (stalls, switches, errors) are totals since the session started, so a lost or
reordered report loses no stall; ``interval_s`` is how long this report covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from . import bounds as b
from . import codec as c
from .spec import CommandSpec, EventSpec

PROBE = "stream.probe"
STOP = "stream.stop"
QOE = "stream.qoe"

SOURCES = ("probe", "player")
STATES = ("startup", "playing", "stalled", "stopped", "failed")
# Error kinds, each its own counter (docs/monitoring.md): where it happened and how it failed.
ERROR_KINDS = (
    "master_http",  # the master playlist answered 4xx/5xx
    "playlist_http",  # a media playlist answered 4xx/5xx
    "segment_http",  # a segment answered 4xx/5xx (a 404 of a segment that fell off a live window)
    "stale_playlist",  # a live playlist whose media sequence did not move for 1.5 target durations
    "timeout",  # no answer (or no bytes) within the request timeout
    "unreachable",  # connection refused / no route / reset: the origin cannot be reached
    "dns",  # the host name did not resolve
    "parse",  # a playlist m3u8 could not read, or a master without variants
    "too_large",  # a playlist or segment above the probe's size limit
    "player",  # an error the player app reported (player source only)
)
MAX_RATIO = 1e6
MAX_SECONDS = 1e9


@dataclass(frozen=True)
class ProbeArgs:
    """Probe ``url`` (master or media playlist) until ``until_ms``; a new probe replaces a running one."""

    url: str = c.spec(c.token(2048))
    until_ms: int = c.spec(c.integer(0, b.MAX_TS_MS))
    lesson: Optional[str] = c.optional(c.token(64))
    play: bool = c.spec(c.boolean(), False)  # also ask the player app to play it (when integrated)


@dataclass(frozen=True)
class ProbeOutput:
    session: str = c.spec(c.token(64))
    state: str = c.spec(c.choice("started", "replaced"))


@dataclass(frozen=True)
class StopOutput:
    state: str = c.spec(c.choice("stopped", "idle"))


@dataclass(frozen=True)
class Qoe:
    """Body of ``stream.qoe``; figures the source cannot know (a player's latency) are null."""

    source: str = c.spec(c.choice(*SOURCES))
    session: str = c.spec(c.token(64))
    url: str = c.spec(c.token(2048))
    state: str = c.spec(c.choice(*STATES))
    interval_s: float = c.spec(c.number(0.0, MAX_SECONDS))
    errors: Dict[str, Any] = c.spec(c.tree(b.DETAIL))  # kind (ERROR_KINDS) -> count since the start
    lesson: Optional[str] = c.optional(c.token(64))
    startup_s: Optional[float] = c.optional(c.number(0.0, MAX_SECONDS))
    stall_count: int = c.spec(c.integer(), 0)
    stall_s: float = c.spec(c.number(0.0, MAX_SECONDS), 0.0)
    play_s: float = c.spec(c.number(0.0, MAX_SECONDS), 0.0)
    rebuffer_ratio: float = c.spec(c.number(0.0, 1.0), 0.0)
    bitrate_bps: int = c.spec(c.integer(), 0)
    avg_bitrate_bps: int = c.spec(c.integer(), 0)
    switches: int = c.spec(c.integer(), 0)
    throughput_bps: Optional[float] = c.optional(c.number(0.0, 1e12))
    throughput_ratio: Optional[float] = c.optional(c.number(0.0, MAX_RATIO))
    download_ratio: Optional[float] = c.optional(c.number(0.0, MAX_RATIO))
    latency_s: Optional[float] = c.optional(c.number(-MAX_SECONDS, MAX_SECONDS))
    buffer_s: Optional[float] = c.optional(c.number(0.0, MAX_SECONDS))
    segments: int = c.spec(c.integer(), 0)
    stale_playlists: int = c.spec(c.integer(), 0)


COMMAND_SPECS: Tuple[CommandSpec, ...] = (
    CommandSpec(PROBE, ProbeArgs, ProbeOutput),
    CommandSpec(STOP, c.Empty, StopOutput),
)
EVENT_SPECS: Tuple[EventSpec, ...] = (EventSpec(QOE, Qoe),)
