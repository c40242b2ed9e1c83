"""Gateway errors; each says what the caller should do next.

AgentError (station_agent.errors)
 ├── PermanentError
 │    └── CommandRejected (station_agent.errors)  bad command args: answered ``rejected``, fix the sender
 │         └── InvalidPortalArgs                  a portal.* argument or portal config value is invalid
 └── GatewayError                                 the gateway could not change the system
      └── ToolFailed                              ``nft``/``tc``/``ip`` exited non-zero: see its stderr
"""

from __future__ import annotations

from typing import Sequence

from ..errors import AgentError, CommandRejected


class InvalidPortalArgs(CommandRejected):
    """A portal argument or config value is invalid; the message names the field and the rule."""


class GatewayError(AgentError):
    """The gateway could not apply a change to the kernel (firewall, shaping, splash socket)."""


class ToolFailed(GatewayError):
    """An external tool failed; retrying the same input will fail again unless the system changed."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}: {stderr.strip()[:500]}")
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
