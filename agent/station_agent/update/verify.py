"""A release's signed manifest, checked against the pinned firmware keys only.

The ed25519 check itself reuses the content package's pinned-key loader (the agent's one
``cryptography`` importer), pointed at the *firmware* key directory: a content key never sits there,
and firmware signatures cover a context line content signatures do not (``fw.SIGNING_CONTEXT``).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from station_protocol import firmware as fw
from station_protocol.errors import MalformedMessage


def verify_release(raw: bytes, keys_dir: Path) -> fw.Manifest:
    """The parsed manifest; raises fw.Refused (unsigned, unknown_key, tampered, malformed)."""
    manifest, signatures = fw.split_document(raw)
    from ..content.verify import load_pinned_keys  # loads cryptography on the first update only

    keys = load_pinned_keys(keys_dir)
    known = [s for s in signatures if s.key_id in keys]
    if not known:
        signed_by = [s.key_id for s in signatures]
        raise fw.Refused("unknown_key", f"signed by {signed_by}; pinned firmware keys {sorted(keys)}")
    data = fw.signing_bytes(manifest)
    for sig in known:
        try:
            keys[sig.key_id].verify(base64.b64decode(sig.sig, validate=True), data)
            break
        except (binascii.Error, ValueError):
            continue
        except Exception:  # noqa: BLE001, S112 - cryptography's InvalidSignature: try the next signature
            continue
    else:
        raise fw.Refused("tampered", "no signature by a pinned firmware key matches the manifest")
    try:
        return fw.parse_manifest(manifest)
    except MalformedMessage as exc:
        raise fw.Refused("malformed", str(exc)) from None
