"""Errors of talking to a legacy router over SSH.

LegacyError                     base; ``retryable`` says whether running the job again may help
 ├── RouterUnreachable          TCP connect / SSH handshake / read timed out (check address, power, link)
 ├── RouterAuthFailed           the router refused the credentials (fix the target's secret)
 ├── RouterCommandRejected      the router answered a line with an error (fix the template or variables)
 ├── UnknownProfile             the target names a device type we have no profile for
 └── IntentInvalid              the rendered configuration is not a valid router intent (fix the template)
"""

from __future__ import annotations

from ...errors import StationError


class LegacyError(StationError):
    """Base of every legacy-router error; the message says what to do next."""

    retryable = False


class RouterUnreachable(LegacyError):
    retryable = True


class RouterAuthFailed(LegacyError):
    pass


class RouterCommandRejected(LegacyError):
    def __init__(self, command: str, output: str) -> None:
        super().__init__(f"the router rejected {command!r}: {output.strip()[:300]}")
        self.command = command
        self.output = output


class UnknownProfile(LegacyError):
    pass


class IntentInvalid(LegacyError):
    pass
