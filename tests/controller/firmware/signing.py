"""Test releases: a firmware key pair and signed documents built exactly as ``stationctl firmware sign``
does (station_protocol.firmware's signing bytes), plus tampered and unsigned variants."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field

from station_controller.crypto import SigningKey
from station_protocol import firmware as fw


@dataclass
class Key:
    key: SigningKey = field(default_factory=SigningKey.generate)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.key.public_raw()).decode("ascii")

    @property
    def key_id(self) -> str:
        return fw.key_id_of(self.key.public_raw())

    def sign(self, manifest: dict[str, object]) -> fw.Signature:
        sig = self.key.sign(fw.signing_bytes(manifest))
        return fw.Signature(self.key_id, base64.b64encode(sig).decode("ascii"))


def files_of(contents: dict[str, bytes]) -> tuple[fw.FileEntry, ...]:
    return tuple(
        fw.FileEntry(path, len(data), hashlib.sha256(data).hexdigest())
        for path, data in sorted(contents.items())
    )


def manifest(
    version: str,
    contents: dict[str, bytes],
    *,
    kind: str = "agent",
    expires_in_s: float = 30 * 86400,
    rollback_of: str | None = None,
    roles: tuple[str, ...] = ("stb", "router"),
) -> dict[str, object]:
    now_ms = int(time.time() * 1000)
    m = fw.Manifest(
        kind=kind,
        name="station-agent" if kind == "agent" else "station-os",
        version=version,
        created_ms=now_ms,
        expires_ms=now_ms + int(expires_in_s * 1000),
        compatibility=fw.Compatibility(roles=roles),
        files=files_of(contents),
        rollback_of=rollback_of,
    )
    return fw.manifest_to_dict(m)


def document(key: Key, m: dict[str, object]) -> bytes:
    return fw.signed_document(m, [key.sign(m)])


AGENT_FILES = {
    "agent.json": b'{"python": "3.11"}',
    "wheels/station_agent-0.3.0-py3-none-any.whl": b"W" * 70_000,
}
