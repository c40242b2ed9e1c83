"""The controller's one error tree; ``retryable`` is the single way every error says "try again later".

StationError                         root of everything the controller raises on purpose; ``retryable``
 │                                   (class attribute, default False): doing the same again later may work
 ├── ControllerError                 domain errors mapped to HTTP in one handler (main.py); ``code`` is
 │    │                              machine-readable, ``detail`` says what to do next
 │    └── (the HTTP table below)
 ├── broker.errors.BrokerError       Mosquitto files and SIGHUP
 ├── ingest.errors.IngestError       BrokerUnavailable (retryable)
 ├── tsdb.errors.TsdbError           TsdbUnavailable (retryable), TsdbRejected, QueryError
 ├── provisioning.errors.ProvisioningError   one device's action result (DeviceUnreachable retryable)
 ├── provisioning.legacy.errors.LegacyError  legacy router SSH (RouterUnreachable retryable)
 ├── provisioning.artifacts.BundleBuildError the agent wheel bundle could not be built
 ├── crypto.NotEd25519, crypto.Undecryptable key and secret problems (also ValueError)
 └── devstack.errors.DevstackError   the development stack (also RuntimeError)

Each package documents its subtree in its own ``errors.py``; the others subclass StationError so a
supervisor, a job runner or a handler can ask ``getattr(exc, "retryable", False)`` of anything.

ControllerError (HTTP)
 ├── NotFound                404     the named object does not exist (check the id)
 ├── Conflict                409     the object exists or is in the wrong state for this action
 ├── InvalidInput            422     request data failed a domain check (``errors`` lists each problem)
 ├── AuthenticationRequired  401     no valid session or credential (log in / re-issue a token)
 ├── PermissionDenied        403     authenticated, but the role does not allow this action
 ├── RateLimited             429     too many failed attempts; wait and retry
 ├── DeviceUnreachable       503     the broker link is down or the device is offline (retryable)
 └── CommandTimeout          504     the device did not answer in time (poll the command later)
"""

from __future__ import annotations

from typing import Any


class StationError(Exception):
    """Root of the controller's errors; subclasses set ``retryable = True`` when a retry may succeed."""

    retryable = False


class ControllerError(StationError):
    """Base of every domain error; ``extra`` is merged into the JSON error body."""

    code = "error"
    status = 500
    retryable = False

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, "retryable": self.retryable, **self.extra}


class NotFound(ControllerError):
    code = "not_found"
    status = 404


class Conflict(ControllerError):
    code = "conflict"
    status = 409


class InvalidInput(ControllerError):
    code = "invalid_input"
    status = 422


class AuthenticationRequired(ControllerError):
    code = "authentication_required"
    status = 401


class PermissionDenied(ControllerError):
    code = "permission_denied"
    status = 403


class RateLimited(ControllerError):
    code = "rate_limited"
    status = 429
    retryable = True

    def __init__(self, detail: str, *, retry_after_s: float) -> None:
        super().__init__(detail, extra={"retry_after_s": round(retry_after_s, 1)})
        self.retry_after_s = retry_after_s


class DeviceUnreachable(ControllerError):
    code = "device_unreachable"
    status = 503
    retryable = True


class CommandTimeout(ControllerError):
    code = "command_timeout"
    status = 504
    retryable = True
