"""``portal.allow`` / ``portal.revoke`` / ``portal.extend`` / ``portal.sessions`` (docs/portal.md).

Arguments are validated strictly; a bad one raises InvalidPortalArgs, answered ``rejected``.
"""

from __future__ import annotations

from typing import Any, Dict

from ..gateway.gateway import Gateway
from ..gateway.validate import only_keys, parse_allow, parse_extend, parse_revoke
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
        only_keys(ctx.args, (), "portal.sessions: ")
        return {"sessions": self._gateway.list_sessions()}

    def handlers(self) -> Dict[str, Handler]:
        return {
            "portal.allow": self.allow,
            "portal.revoke": self.revoke,
            "portal.extend": self.extend,
            "portal.sessions": self.sessions,
        }
