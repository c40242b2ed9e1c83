"""Firmware domain errors.

ControllerError (station_controller.errors)
 ├── NotFound       404
 │    └── ReleaseNotFound       no such release (or it is retired): list them with GET /firmware/releases
 ├── Conflict       409
 │    ├── ReleaseExists         this kind and version was uploaded already: sign a new version
 │    └── KeyExists             this public key is pinned already
 └── InvalidInput   422
      ├── ReleaseRefused        the signed document does not verify or parse; ``reason`` says which
      │                         (unsigned, tampered, unknown_key, expired, malformed, files)
      └── BadKey                a public key that is not 32 raw bytes of base64
"""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound


class ReleaseNotFound(NotFound):
    code = "release_not_found"


class ReleaseExists(Conflict):
    code = "release_exists"


class KeyExists(Conflict):
    code = "key_exists"


class ReleaseRefused(InvalidInput):
    code = "release_refused"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}", extra={"reason": reason})
        self.reason = reason


class BadKey(InvalidInput):
    code = "bad_key"
