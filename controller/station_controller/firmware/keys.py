"""Pinned firmware keys (role ``firmware``) and the signature check of an uploaded release document.

Only public keys live here: releases are signed on a staff machine (``stationctl firmware sign``). Firmware
keys are looked up in ``firmware_keys`` alone and the signed bytes start with the firmware context line,
so a content key (``content/keys.py``) never verifies a firmware manifest.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station_protocol import firmware as fw
from station_protocol.errors import MalformedMessage

from ..crypto import verify_ed25519
from ..errors import NotFound
from ..kernel.clock import utcnow
from .errors import BadKey, KeyExists, ReleaseRefused
from .models import FirmwareKey


def _raw_public(public_b64: str) -> bytes:
    try:
        raw = base64.b64decode(public_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BadKey("public_key: expected base64 of the raw 32-byte ed25519 public key (the .pub file)")
    return raw


def add_key(session: Session, *, public_key: str, label: str = "", by: str | None = None) -> FirmwareKey:
    """Pin a firmware public key (rotation: pin the new key, ship releases signed by it, retire the old)."""
    raw = _raw_public(public_key)
    key_id = fw.key_id_of(raw)
    if session.get(FirmwareKey, key_id) is not None:
        raise KeyExists(f"firmware key {key_id} is pinned already")
    row = FirmwareKey(
        key_id=key_id,
        public_key=base64.b64encode(raw).decode("ascii"),
        label=label[:128],
        added_by=by,
        created_at=utcnow(),
    )
    session.add(row)
    session.commit()
    return row


def retire_key(session: Session, *, key_id: str) -> FirmwareKey:
    """Stop trusting ``key_id`` for new uploads (releases it signed stay; retire them separately)."""
    row = session.get(FirmwareKey, key_id)
    if row is None:
        raise NotFound(f"firmware key {key_id} is not pinned; list keys with GET /firmware/keys")
    if row.retired_at is None:
        row.retired_at = utcnow()
        session.commit()
    return row


def list_keys(session: Session) -> list[FirmwareKey]:
    return list(session.scalars(select(FirmwareKey).order_by(FirmwareKey.created_at)))


def _trusted(session: Session) -> dict[str, bytes]:
    rows = session.scalars(select(FirmwareKey).where(FirmwareKey.retired_at.is_(None)))
    return {row.key_id: base64.b64decode(row.public_key) for row in rows}


def _signature_ok(public: bytes, sig: fw.Signature, payload: bytes) -> bool:
    try:
        raw = base64.b64decode(sig.sig, validate=True)
    except (binascii.Error, ValueError):
        return False
    return verify_ed25519(public, raw, payload)


@dataclass(frozen=True)
class Verified:
    """A document whose signature checked out under a pinned key, and its parsed manifest."""

    manifest: fw.Manifest
    manifest_dict: Mapping[str, Any]
    key_id: str


def verify_document(session: Session, *, document: bytes, now_ms: int) -> Verified:
    """Split, check the signature against the pinned firmware keys, parse, check expiry.

    ReleaseRefused with the same reasons a device reports: unsigned, malformed, unknown_key (no signature
    by a pinned key), tampered (a pinned key's signature does not match the bytes), expired.
    """
    try:
        manifest_dict, signatures = fw.split_document(document)
    except fw.Refused as exc:
        raise ReleaseRefused(exc.refusal, exc.detail) from None
    trusted = _trusted(session)
    payload = fw.signing_bytes(manifest_dict)
    known = [sig for sig in signatures if sig.key_id in trusted]
    if not known:
        names = ", ".join(sig.key_id for sig in signatures)
        raise ReleaseRefused("unknown_key", f"signed by {names}, none of them a pinned firmware key")
    good = next((sig for sig in known if _signature_ok(trusted[sig.key_id], sig, payload)), None)
    if good is None:
        raise ReleaseRefused("tampered", f"the signature of {known[0].key_id} does not match the manifest")
    try:
        manifest = fw.parse_manifest(manifest_dict)
    except MalformedMessage as exc:
        raise ReleaseRefused("malformed", str(exc)) from None
    if manifest.expires_ms <= now_ms:
        raise ReleaseRefused("expired", f"release {manifest.version} expired at {manifest.expires_ms} ms")
    return Verified(manifest, manifest_dict, good.key_id)
