"""What a role (``router``, ``stb``) adds to the agent: command handlers, loops, a portal port, a closer.

The composition root (runtime.py) imports a role's package only for that role, so an STB never loads
the gateway (nft, tc, the splash ``http.server``) and a router never loads the content sync; this
module itself imports nothing role-specific.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Tuple

from .commands.base import Handler

Loop = Callable[[threading.Event], None]


class PortalPort(Protocol):
    """The router's captive portal as desired config sees it (``gateway/build.py`` provides it)."""

    def check(self, value: Any) -> Dict[str, Any]:
        """The normalised ``portal`` object; raises PermanentError naming the bad field."""
        ...

    def apply(self, value: Optional[Mapping[str, Any]]) -> None:
        """Switch the portal to ``value`` (None: off); raises AgentError and keeps the old setup."""
        ...


def _nothing() -> None:
    return None


@dataclass
class RoleParts:
    """``loops`` run on their own threads, named by the first item, until the agent's stop event."""

    handlers: Dict[str, Handler] = field(default_factory=dict)
    loops: List[Tuple[str, Loop]] = field(default_factory=list)
    portal: Optional[PortalPort] = None
    close: Callable[[], None] = _nothing
    capabilities: Tuple[str, ...] = ()  # advertised in the birth beside the command names
