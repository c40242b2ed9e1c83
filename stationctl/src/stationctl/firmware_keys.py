"""Firmware signing keys (ed25519) on the staff machine: stationctl's only ``cryptography`` importer.

A private key file holds ``{"role": "firmware", "key_id": ..., "private_key": <base64 raw 32>}`` (0600);
its public half is what devices pin in ``<root>/keys/firmware/<key_id>.pub`` and what the controller
registers. The role is checked on load: a content key file cannot sign firmware.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from station_protocol import firmware as fw

from .client import CliError


def generate(path: Path) -> str:
    """Write a new private key file (refusing to overwrite); returns its key id."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes_raw()
    key_id = fw.key_id_of(public_raw(key))
    doc = {"role": fw.KEY_ROLE, "key_id": key_id, "private_key": base64.b64encode(raw).decode()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(doc, out)
    return key_id


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def load(path: Path) -> Ed25519PrivateKey:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        role, raw = doc.get("role"), base64.b64decode(doc["private_key"], validate=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"{path}: not a firmware key file ({exc})") from None
    if role != fw.KEY_ROLE:
        raise CliError(f"{path}: a {role!r} key cannot sign firmware (role must be {fw.KEY_ROLE!r})")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_b64(path: Path) -> tuple[str, str]:
    """(key id, base64 of the raw public key) of a private key file."""
    raw = public_raw(load(path))
    return fw.key_id_of(raw), base64.b64encode(raw).decode()


def sign(manifest: Mapping[str, Any], key_paths: list[Path]) -> bytes:
    """The signed document: the manifest checked by parse_manifest, one signature per key."""
    fw.parse_manifest(manifest)
    sigs = []
    for path in key_paths:
        key = load(path)
        sig = key.sign(fw.signing_bytes(manifest))
        sigs.append(fw.Signature(fw.key_id_of(public_raw(key)), base64.b64encode(sig).decode()))
    return fw.signed_document(manifest, sigs)
