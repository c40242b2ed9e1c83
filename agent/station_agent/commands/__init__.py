"""Command handlers by name; ``build_registry`` wires them to the agent's services."""

from __future__ import annotations

from typing import Dict, Optional

from .base import CommandContext, Handler
from .content import ContentCommands
from .diagnostics import Diagnostics, DiagnosticsTargets
from .ping import ping
from .portal import PortalCommands
from .reboot import Reboot

__all__ = [
    "CommandContext",
    "ContentCommands",
    "Diagnostics",
    "DiagnosticsTargets",
    "Handler",
    "PortalCommands",
    "Reboot",
    "build_registry",
    "ping",
]


def build_registry(
    *,
    reboot: Reboot,
    diagnostics: Diagnostics,
    portal: Optional[PortalCommands] = None,
    content: Optional[ContentCommands] = None,
) -> Dict[str, Handler]:
    """``portal`` is given only to role ``router`` agents, ``content`` only to role ``stb``."""
    handlers: Dict[str, Handler] = {"ping": ping, "reboot": reboot, "diagnostics": diagnostics}
    if portal is not None:
        handlers.update(portal.handlers())
    if content is not None:
        handlers.update(content.handlers())
    return handlers
