"""Command handlers by name; ``build_registry`` wires them to the agent's services.

The role-specific handlers (``portal.py`` for routers, ``content.py`` for STBs) are not imported here:
they pull in their role's package, and the runtime loads only the running role's (roles.py).
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from station_protocol import commands as names

from .base import CommandContext, Handler
from .diagnostics import Diagnostics, DiagnosticsTargets
from .ping import ping
from .reboot import Reboot

__all__ = [
    "CommandContext",
    "Diagnostics",
    "DiagnosticsTargets",
    "Handler",
    "Reboot",
    "build_registry",
    "ping",
]


def build_registry(
    *, reboot: Reboot, diagnostics: Diagnostics, role: Optional[Mapping[str, Handler]] = None
) -> Dict[str, Handler]:
    """The common handlers plus the running role's (``portal.*`` on a router, ``content.*`` on an STB)."""
    handlers: Dict[str, Handler] = {names.PING: ping, names.REBOOT: reboot, names.DIAGNOSTICS: diagnostics}
    handlers.update(role or {})
    return handlers
