"""What a command handler receives and returns."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict


@dataclass(frozen=True)
class CommandContext:
    """One command being run; long handlers should poll ``cancel`` (set when the timeout fires)."""

    command_id: str
    name: str
    args: Dict[str, Any]
    sent_ms: int  # the command envelope's ts (controller clock)
    received_ms: int  # when the agent took it off the queue (device clock)
    cancel: threading.Event = field(default_factory=threading.Event)


# A handler returns the result's ``output``; raising makes the result "failed" with the error text.
Handler = Callable[[CommandContext], Dict[str, Any]]
