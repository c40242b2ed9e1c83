"""Provisioning errors.

ProvisioningError                    base of what an action raises for one device (never stops a job)
 ├── DeviceUnreachable               the device did not answer (SSH refused / timed out): retry the job later
 └── ActionFailed                    the device answered but the action failed: read ``reason``, fix, retry
SecretsKeyError (InvalidInput)       a stored secret cannot be decrypted: restore the key it was stored with
UnknownAction (InvalidInput)         a job names an action nobody registered: see GET /provisioning/actions
"""

from __future__ import annotations

from ..errors import InvalidInput, StationError


class ProvisioningError(StationError):
    """Raised by an action for one device; the runner records it as that device's result."""

    status = "failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeviceUnreachable(ProvisioningError):
    status = "unreachable"
    retryable = True


class ActionFailed(ProvisioningError):
    status = "failed"


class SecretsKeyError(InvalidInput):
    code = "secrets_key"


class UnknownAction(InvalidInput):
    code = "unknown_action"
