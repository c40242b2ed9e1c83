"""The controller's cryptography adapter (crypto.py) through its two users: signing keys and secret boxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from station_controller.content import signing
from station_controller.content.errors import SigningKeyUnavailable
from station_controller.crypto import KeyRing, Undecryptable, derive_fernet_key


def test_signing_key_with_passphrase_round_trips_and_verifies(tmp_path: Path) -> None:
    key_id, public = signing.create_key(tmp_path, passphrase="s3cret")
    key = signing.load_private(tmp_path, key_id, passphrase="s3cret")
    sig = signing.sign(key, key_id, b"manifest")
    assert signing.verify(public, sig, b"manifest")
    assert not signing.verify(public, sig, b"manifest, altered")
    assert (tmp_path / f"{key_id}.pub").read_text().strip() == signing.public_b64(public)


def test_wrong_or_missing_passphrase_is_signing_key_unavailable(tmp_path: Path) -> None:
    key_id, _ = signing.create_key(tmp_path, passphrase="s3cret")
    with pytest.raises(SigningKeyUnavailable, match="check the file and the passphrase"):
        signing.load_private(tmp_path, key_id, passphrase="wrong")
    with pytest.raises(SigningKeyUnavailable, match="check the file and the passphrase"):
        signing.load_private(tmp_path, key_id)


def test_malformed_signature_does_not_verify(tmp_path: Path) -> None:
    key_id, public = signing.create_key(tmp_path)
    sig = signing.sign(signing.load_private(tmp_path, key_id), key_id, b"x")
    assert not signing.verify(public, type(sig)(key_id, "not base64!"), b"x")
    assert not signing.verify(b"short", sig, b"x")


def test_key_ring_decrypts_with_an_old_key_and_rotates_to_the_new_one() -> None:
    old = derive_fernet_key(b"old secret", info=b"test")
    new = derive_fernet_key(b"new secret", info=b"test")
    token = KeyRing([old]).encrypt(b"value")
    both = KeyRing([new, old])
    assert both.decrypt(token) == b"value"
    rotated = both.rotate(token)
    assert KeyRing([new]).decrypt(rotated) == b"value"
    with pytest.raises(Undecryptable):
        KeyRing([new]).decrypt(token)
    with pytest.raises(Undecryptable):
        KeyRing([new]).rotate(token)
