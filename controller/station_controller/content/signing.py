"""ed25519 signing keys on disk (primitives in ``crypto.py``, the controller's only cryptography importer).

Storage: ``{key_dir}/{key_id}.key`` is the private key as PKCS#8 PEM, mode 0600, encrypted with the
passphrase when one is set (``STATION_CONTENT_KEY_PASSPHRASE``); ``{key_id}.pub`` is base64 of the raw
32-byte public key, the exact file devices pin in ``content_root/trusted-keys/``.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from station_protocol.content import Signature, key_id_of

from ..crypto import NotEd25519, SigningKey, verify_ed25519
from .errors import SigningKeyUnavailable


def create_key(key_dir: Path, *, passphrase: str = "") -> tuple[str, bytes]:
    """Generate a key pair, write both files and return (key_id, raw public key)."""
    key = SigningKey.generate()
    public = key.public_raw()
    key_id = key_id_of(public)
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.to_pem(passphrase=passphrase)
    path = key_dir / f"{key_id}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    (key_dir / f"{key_id}.pub").write_text(public_b64(public) + "\n", encoding="ascii")
    return key_id, public


def public_b64(public: bytes) -> str:
    return base64.b64encode(public).decode("ascii")


def load_private(key_dir: Path, key_id: str, *, passphrase: str = "") -> SigningKey:
    try:
        pem = (key_dir / f"{key_id}.key").read_bytes()
        return SigningKey.from_pem(pem, passphrase=passphrase)
    except NotEd25519:
        raise SigningKeyUnavailable(f"{key_id}.key is not an ed25519 key") from None
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyUnavailable(
            f"cannot load signing key {key_id} from {key_dir}: {exc}; check the file and the passphrase"
        ) from exc


def sign(key: SigningKey, key_id: str, payload: bytes) -> Signature:
    return Signature(key_id, base64.b64encode(key.sign(payload)).decode("ascii"))


def verify(public: bytes, signature: Signature, payload: bytes) -> bool:
    """For tests and `stationctl content verify`: does ``signature`` verify ``payload``?"""
    try:
        raw = base64.b64decode(signature.sig)
    except ValueError:
        return False
    return verify_ed25519(public, raw, payload)
