"""Agent errors; each says what the caller should do next.

AgentError
 ├── RetryableError    transient (network, broker, controller 5xx): try again later with backoff
 │    └── Throttled    the server answered 429/503: wait at least ``retry_after_s`` (its Retry-After)
 ├── PermanentError    will not succeed by retrying (bad input, 4xx, unsupported): report and move on
 │    └── CommandRejected  a command's arguments are invalid: answered ``rejected``, fix the sender
 ├── AlreadyApplied    a command id was applied before: answer with the stored result
 ├── ConfigError       the agent configuration is invalid: fix the file / env var named in the message
 └── EnrollmentError   enrollment failed permanently (token rejected): issue a new token and restart
"""

from __future__ import annotations

from typing import Any, Dict, Optional


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class RetryableError(AgentError):
    """Transient failure; the same call may succeed later."""


class Throttled(RetryableError):
    """The server asked us to come back later; ``retry_after_s`` is its Retry-After (None: not given)."""

    def __init__(self, message: str, *, status: int, retry_after_s: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class PermanentError(AgentError):
    """Retrying will not help."""


class CommandRejected(PermanentError):
    """A handler refuses the command's arguments; the dispatcher answers ``rejected`` with the message."""


class AlreadyApplied(AgentError):
    """The command id was applied before; ``previous`` is the stored result body."""

    def __init__(self, command_id: str, previous: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(f"command {command_id} was already applied")
        self.command_id = command_id
        self.previous: Dict[str, Any] = dict(previous or {})


class ConfigError(AgentError):
    """Invalid agent configuration; the message names the key and where it came from."""


class EnrollmentError(PermanentError):
    """Enrollment was refused; the message carries the controller's reason."""
