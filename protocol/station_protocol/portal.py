"""``portal.*`` command arguments/outputs and the portal session events (docs/portal.md).

The contract checks types and bounds; the router agent additionally checks meaning (a unicast MAC, a
client IPv4 address, session id characters) in agent/station_agent/gateway/validate.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from . import bounds as b
from . import codec as c
from .spec import CommandSpec, EventSpec

ALLOW = "portal.allow"
REVOKE = "portal.revoke"
EXTEND = "portal.extend"
SESSIONS = "portal.sessions"
ACCOUNTING = "portal.accounting"
SESSION_ENDED = "portal.session_ended"

MAX_KBPS = 10_000_000
MAX_IDLE_S = 30 * 24 * 3600
MAX_SESSIONS = 4096


@dataclass(frozen=True)
class AllowArgs:
    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    ip: str = c.spec(c.token(15))
    expires_at: int = c.spec(c.integer(1, b.SAFE_INT_MAX))
    idle_timeout_s: int = c.spec(c.integer(0, MAX_IDLE_S))
    up_kbps: int = c.spec(c.integer(0, MAX_KBPS))
    down_kbps: int = c.spec(c.integer(0, MAX_KBPS))
    quota_bytes: int = c.spec(c.integer(0, b.SAFE_INT_MAX))


@dataclass(frozen=True)
class AllowOutput:
    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    ip: str = c.spec(c.token(15))
    class_id: int = c.spec(c.integer(0, 65535))
    replaced: Tuple[str, ...] = c.spec(c.tokens(MAX_SESSIONS))


@dataclass(frozen=True)
class RevokeArgs:
    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    reason: str = c.spec(c.line(200), "")


@dataclass(frozen=True)
class SessionCounters:
    """One session's byte counters (``portal.accounting`` entries)."""

    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    ip: str = c.spec(c.token(15))
    bytes_up: int = c.spec(c.integer())
    bytes_down: int = c.spec(c.integer())
    last_activity_ms: Optional[int] = c.optional(c.integer(0, b.MAX_TS_MS))  # last byte seen, agent clock


@dataclass(frozen=True)
class SessionEnded:
    """Body of ``portal.session_ended`` (``reason``: expired, quota, idle, revoked, replaced, ...)."""

    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    ip: str = c.spec(c.token(15))
    bytes_up: int = c.spec(c.integer())
    bytes_down: int = c.spec(c.integer())
    reason: str = c.spec(c.line(200))
    ended_at: int = c.spec(c.integer(0, b.MAX_TS_MS))


@dataclass(frozen=True)
class RevokeOutput:
    """``revoked`` false (with ``detail``) when no live session had this id; else the ended session."""

    session_id: str = c.spec(c.token(64))
    revoked: bool = c.spec(c.boolean())
    detail: Optional[str] = c.optional(c.line(200))
    mac: Optional[str] = c.optional(c.token(17))
    ip: Optional[str] = c.optional(c.token(15))
    bytes_up: Optional[int] = c.optional(c.integer())
    bytes_down: Optional[int] = c.optional(c.integer())
    reason: Optional[str] = c.optional(c.line(200))
    ended_at: Optional[int] = c.optional(c.integer(0, b.MAX_TS_MS))


@dataclass(frozen=True)
class ExtendArgs:
    session_id: str = c.spec(c.token(64))
    expires_at: int = c.spec(c.integer(1, b.SAFE_INT_MAX))
    quota_bytes: int = c.spec(c.integer(0, b.SAFE_INT_MAX))


@dataclass(frozen=True)
class ExtendOutput:
    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    ip: str = c.spec(c.token(15))
    bytes_up: int = c.spec(c.integer())
    bytes_down: int = c.spec(c.integer())
    expires_at: int = c.spec(c.integer(1, b.SAFE_INT_MAX))
    quota_bytes: int = c.spec(c.integer(0, b.SAFE_INT_MAX))
    last_activity_ms: Optional[int] = c.optional(c.integer(0, b.MAX_TS_MS))


@dataclass(frozen=True)
class SessionInfo:
    """One live session as ``portal.sessions`` lists it."""

    session_id: str = c.spec(c.token(64))
    mac: str = c.spec(c.token(17))
    ip: str = c.spec(c.token(15))
    bytes_up: int = c.spec(c.integer())
    bytes_down: int = c.spec(c.integer())
    expires_at: int = c.spec(c.integer(1, b.SAFE_INT_MAX))
    quota_bytes: int = c.spec(c.integer(0, b.SAFE_INT_MAX))
    up_kbps: int = c.spec(c.integer(0, MAX_KBPS))
    down_kbps: int = c.spec(c.integer(0, MAX_KBPS))
    idle_timeout_s: int = c.spec(c.integer(0, MAX_IDLE_S))
    last_activity_ms: Optional[int] = c.optional(c.integer(0, b.MAX_TS_MS))


# Entries of outputs and events are read leniently too: a newer agent may add keys to them.
@dataclass(frozen=True)
class SessionsOutput:
    sessions: Tuple[SessionInfo, ...] = c.spec(c.items(SessionInfo, MAX_SESSIONS, strict=False))


@dataclass(frozen=True)
class Accounting:
    """Body of ``portal.accounting``: counters of up to a chunk of live sessions."""

    sessions: Tuple[SessionCounters, ...] = c.spec(c.items(SessionCounters, MAX_SESSIONS, strict=False))


COMMAND_SPECS: Tuple[CommandSpec, ...] = (
    CommandSpec(ALLOW, AllowArgs, AllowOutput),
    CommandSpec(REVOKE, RevokeArgs, RevokeOutput),
    CommandSpec(EXTEND, ExtendArgs, ExtendOutput),
    CommandSpec(SESSIONS, c.Empty, SessionsOutput),
)
EVENT_SPECS: Tuple[EventSpec, ...] = (
    EventSpec(ACCOUNTING, Accounting),
    EventSpec(SESSION_ENDED, SessionEnded),
)
