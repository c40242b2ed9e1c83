"""``portal.allow`` / ``portal.revoke`` / ``portal.extend`` / ``portal.sessions`` (docs/portal.md).

Arguments decode through the contract (gateway/validate.py); a bad one raises InvalidPortalArgs,
answered ``rejected``.
"""

from __future__ import annotations

from typing import Any, Dict

from station_protocol import portal as p

from ..gateway.gateway import Gateway
from ..gateway.validate import parse_allow, parse_extend, parse_revoke, parse_sessions
from .base import CommandContext, Handler


class PortalCommands:
    """The four handlers, bound to one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def allow(self, ctx: CommandContext) -> Dict[str, Any]:
        return self._gateway.allow(parse_allow(ctx.args))

    def revoke(self, ctx: CommandContext) -> Dict[str, Any]:
        session_id, mac, reason = parse_revoke(ctx.args)
        return self._gateway.revoke(session_id, mac, reason)

    def extend(self, ctx: CommandContext) -> Dict[str, Any]:
        session_id, expires_at, quota_bytes = parse_extend(ctx.args)
        return self._gateway.extend(session_id, expires_at, quota_bytes)

    def sessions(self, ctx: CommandContext) -> Dict[str, Any]:
        parse_sessions(ctx.args)
        return {"sessions": self._gateway.list_sessions()}

    def handlers(self) -> Dict[str, Handler]:
        return {
            p.ALLOW: self.allow,
            p.REVOKE: self.revoke,
            p.EXTEND: self.extend,
            p.SESSIONS: self.sessions,
        }
