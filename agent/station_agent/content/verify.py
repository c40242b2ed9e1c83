"""Manifest signature check against pinned keys (the agent's only ``cryptography`` importer).

``cryptography`` is imported on the first check, not at start: its bundled OpenSSL costs ~7 MB RSS,
which an idle STB (most of its life) does not need to carry.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict

from station_protocol.content import (
    Manifest,
    Snapshot,
    canonical_bytes,
    key_id_of,
    parse_manifest,
    parse_snapshot,
    split_document,
)
from station_protocol.errors import MalformedMessage

from .errors import ManifestRejected

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger(__name__)


def load_pinned_keys(directory: Path) -> Dict[str, Ed25519PublicKey]:
    """``{key_id: key}`` from ``directory/*.pub`` (base64 of the raw 32-byte key); bad files are skipped."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys: Dict[str, Ed25519PublicKey] = {}
    if not directory.is_dir():
        return keys
    for path in sorted(directory.glob("*.pub")):
        try:
            raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
            keys[key_id_of(raw)] = Ed25519PublicKey.from_public_bytes(raw)
        except (OSError, ValueError) as exc:
            log.warning("ignoring pinned key file %s: %s", path, exc)
    return keys


def verify_document(raw: bytes, keys: Dict[str, Ed25519PublicKey]) -> Manifest:
    """The manifest, if one signature by a pinned key verifies; otherwise ManifestRejected."""
    body = verified_body(raw, keys, "manifest")
    try:
        return parse_manifest(body)
    except MalformedMessage as exc:
        raise ManifestRejected("manifest_invalid", str(exc)) from exc


def verify_snapshot(raw: bytes, keys: Dict[str, Ed25519PublicKey]) -> Snapshot:
    """The format 2 snapshot, if one signature by a pinned key verifies; otherwise ManifestRejected."""
    body = verified_body(raw, keys, "snapshot")
    try:
        return parse_snapshot(body)
    except MalformedMessage as exc:
        raise ManifestRejected("manifest_invalid", str(exc)) from exc


def verified_body(raw: bytes, keys: Dict[str, Ed25519PublicKey], body_key: str) -> Dict[str, Any]:
    """The signed body (``manifest`` or ``snapshot``) once a pinned key's signature verifies."""
    from cryptography.exceptions import InvalidSignature

    try:
        body, signatures = split_document(raw, body_key)
    except MalformedMessage as exc:
        raise ManifestRejected("manifest_invalid", str(exc)) from exc
    payload = canonical_bytes(body)
    known = [s for s in signatures if s.key_id in keys]
    if not known:
        ids = ", ".join(s.key_id for s in signatures)
        raise ManifestRejected("unknown_signer", f"signed by {ids}; none is pinned in trusted-keys/")
    for sig in known:
        try:
            keys[sig.key_id].verify(base64.b64decode(sig.sig), payload)
        except (InvalidSignature, ValueError):
            continue
        return body
    raise ManifestRejected("bad_signature", "no signature verifies: the manifest was altered or mis-signed")
