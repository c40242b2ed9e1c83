"""The commands every role answers (``ping``, ``reboot``, ``diagnostics``) and the ``bad_command`` event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from . import bounds as b
from . import codec as c
from . import fields as f
from .spec import CommandSpec, EventSpec

PING = "ping"
REBOOT = "reboot"
DIAGNOSTICS = "diagnostics"
BAD_COMMAND = "bad_command"


@dataclass(frozen=True)
class PingArgs:
    """Free-form: whatever is sent comes back as ``echo``; decoded as a whole (no named fields)."""

    payload: Dict[str, Any]


@dataclass(frozen=True)
class PingOutput:
    echo: Dict[str, Any] = c.spec(c.tree(b.ARGS))
    agent_time_ms: int = c.spec(c.integer(0, b.MAX_TS_MS))


@dataclass(frozen=True)
class RebootOutput:
    dry_run: bool = c.spec(c.boolean())
    command: Tuple[str, ...] = c.spec(c.tokens(64, 256))
    pid: Optional[int] = c.optional(c.integer(0, b.INT32_MAX))


@dataclass(frozen=True)
class DiagnosticsOutput:
    """Each probe is an object ``{ok, target|host, ms|addresses|error}``; one failing hides no other."""

    broker_tcp: Dict[str, Any] = c.spec(c.tree(b.DETAIL))
    clock_skew_ms: int = c.spec(c.integer(-b.MAX_TS_MS, b.MAX_TS_MS))
    agent_time_ms: int = c.spec(c.integer(0, b.MAX_TS_MS))
    queue_depth: int = c.spec(c.integer())
    disk_free_bytes: Optional[int] = c.optional(c.integer())
    controller_dns: Optional[Dict[str, Any]] = c.optional(c.tree(b.DETAIL))
    controller_tcp: Optional[Dict[str, Any]] = c.optional(c.tree(b.DETAIL))


@dataclass(frozen=True)
class BadCommand:
    """Body of ``bad_command``: a payload on the device's ``cmd`` topic that did not decode as a command."""

    topic: str = c.spec(c.line(256))
    error: str = c.spec(lambda d, k, w: f.text(d, k, w, 512, kind="text"))


COMMAND_SPECS: Tuple[CommandSpec, ...] = (
    CommandSpec(PING, None, PingOutput),
    CommandSpec(REBOOT, c.Empty, RebootOutput),
    CommandSpec(DIAGNOSTICS, c.Empty, DiagnosticsOutput),
)
EVENT_SPECS: Tuple[EventSpec, ...] = (EventSpec(BAD_COMMAND, BadCommand),)
