"""Cryptographic primitives: the controller's only ``cryptography`` importer (an import contract checks it).

Two users, each keeping its own storage, messages and errors:

- content/signing.py: ed25519 content signing keys (``SigningKey``, ``verify_ed25519``);
- provisioning/secrets.py: Fernet encryption of stored secrets under a key ring (``KeyRing``,
  ``derive_fernet_key``).

Failures surface as ``ValueError`` subclasses (or ``TypeError`` from a missing/extra passphrase, as the
library raises it), so callers translate them into their own ``ControllerError``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import StationError


class NotEd25519(StationError, ValueError):
    """The PEM file holds a private key of another type."""


class Undecryptable(StationError, ValueError):
    """A token does not decrypt (or authenticate) with any key of the ring."""


def _encryption(passphrase: str) -> serialization.KeySerializationEncryption:
    if passphrase:
        return serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
    return serialization.NoEncryption()


class SigningKey:
    """An ed25519 private key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, *, passphrase: str = "") -> SigningKey:
        """Load PKCS#8 PEM; ValueError/TypeError for a bad file or passphrase, NotEd25519 for another type."""
        key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8") if passphrase else None)
        if not isinstance(key, Ed25519PrivateKey):
            raise NotEd25519("not an ed25519 private key")
        return cls(key)

    def to_pem(self, *, passphrase: str = "") -> bytes:
        """PKCS#8 PEM, encrypted with ``passphrase`` when one is given."""
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(passphrase)
        )

    def public_raw(self) -> bytes:
        """The raw 32-byte public key."""
        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, payload: bytes) -> bytes:
        return self._key.sign(payload)


def verify_ed25519(public: bytes, signature: bytes, payload: bytes) -> bool:
    """Does ``signature`` verify ``payload`` under the raw public key? (False for malformed input too.)"""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def derive_fernet_key(secret: bytes, *, info: bytes) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) derived from ``secret`` with HKDF-SHA256."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
    return base64.urlsafe_b64encode(raw)


class KeyRing:
    """Fernet under the first key; decrypts with any key (rotation). ValueError for a malformed key."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise Undecryptable("the token does not decrypt with any key of the ring") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt ``token`` under the first key; Undecryptable when no key opens it."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise Undecryptable("the token does not decrypt with any key of the ring") from None
