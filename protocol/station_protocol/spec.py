"""The two registry entry types a message module declares (``COMMAND_SPECS``/``EVENT_SPECS``, contract.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Type


@dataclass(frozen=True)
class CommandSpec:
    """A command name with its typed arguments and the typed output of its ``ok`` result."""

    name: str
    args: Optional[Type[Any]]  # None: free-form (ping); codec.Empty: takes no arguments
    output: Type[Any]


@dataclass(frozen=True)
class EventSpec:
    """An event name with the typed body of its ``detail``."""

    name: str
    body: Type[Any]


class RegistryError(TypeError):
    """A programming error in the registry: a name declared twice, or specs of the wrong type.

    Not a wire error (no ``reason``): it fails the first use of the registry, so the protocol tests
    and any agent or controller start catch it before a message is sent.
    """

    retryable = False
