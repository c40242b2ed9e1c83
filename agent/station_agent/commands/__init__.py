"""Command handlers by name; ``build_registry`` wires them to the agent's services."""

from __future__ import annotations

from typing import Dict

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


def build_registry(*, reboot: Reboot, diagnostics: Diagnostics) -> Dict[str, Handler]:
    return {"ping": ping, "reboot": reboot, "diagnostics": diagnostics}
