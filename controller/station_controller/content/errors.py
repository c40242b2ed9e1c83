"""Content domain errors.

ControllerError (station_controller.errors)
 ├── NotFound       404
 │    └── ChunkMissing          a manifest names chunks the store lacks: upload them, then publish again
 ├── Conflict       409
 │    └── VersionExists         the bundle already has this version: pick a new version string
 ├── InvalidInput   422
 │    └── BadChunk              uploaded bytes do not match the hash or size given: re-chunk and upload
 └── ControllerError 500
      └── SigningKeyUnavailable no active signing key, or it cannot be loaded: create/activate one
"""

from __future__ import annotations

from ..errors import Conflict, ControllerError, InvalidInput, NotFound


class ChunkMissing(NotFound):
    code = "chunk_missing"


class VersionExists(Conflict):
    code = "version_exists"


class BadChunk(InvalidInput):
    code = "bad_chunk"


class SigningKeyUnavailable(ControllerError):
    code = "signing_key_unavailable"
    status = 500
