"""``ping``: echo the arguments with the agent's clock, to check the round trip."""

from __future__ import annotations

from typing import Any, Dict

from station_protocol import now_ms

from .base import CommandContext


def ping(ctx: CommandContext) -> Dict[str, Any]:
    return {"echo": dict(ctx.args), "agent_time_ms": now_ms()}
