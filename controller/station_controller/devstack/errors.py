"""Dev stack errors.

DevstackError
 ├── PortInUse          a fixed port is taken (stop the other program or choose another port)
 ├── ServiceStartError  a service exited or never became ready (its log tail is in the message)
 └── ToolFailed         a helper command (initdb, pg_ctl, station-controller ...) exited non-zero
"""

from __future__ import annotations

from ..errors import StationError


class DevstackError(StationError, RuntimeError):
    """Base of everything the dev stack raises."""


class PortInUse(DevstackError):
    """Another program listens on a port we were told to use."""


class ServiceStartError(DevstackError):
    """A service process died or did not become ready in time."""


class ToolFailed(DevstackError):
    """A one-shot command failed; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(f"{message}\n{output}".rstrip())
        self.output = output
