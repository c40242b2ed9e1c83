"""Signing-key service: create, activate (rotate), list, and sign with the active key."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from station_protocol.content import Signature

from ..errors import NotFound
from ..kernel.clock import utcnow
from ..settings import Settings
from . import signing
from .errors import SigningKeyUnavailable
from .models import ContentKey


def content_root(settings: Settings) -> Path:
    return settings.content_dir or settings.data_dir / "content"


def key_dir(settings: Settings) -> Path:
    return content_root(settings) / "keys"


def _passphrase(settings: Settings) -> str:
    return settings.content_key_passphrase.get_secret_value()


def create_key(session: Session, *, settings: Settings, activate: bool = False) -> ContentKey:
    """Generate a key pair on disk and record its public half; ``activate`` makes it the signer."""
    key_id, public = signing.create_key(key_dir(settings), passphrase=_passphrase(settings))
    row = ContentKey(key_id=key_id, public_key=signing.public_b64(public), active=False, created_at=utcnow())
    session.add(row)
    session.flush()
    if activate:
        _activate(session, key_id)
    session.commit()
    return row


def _activate(session: Session, key_id: str) -> None:
    session.execute(update(ContentKey).values(active=False))
    session.execute(update(ContentKey).where(ContentKey.key_id == key_id).values(active=True))


def activate_key(session: Session, *, key_id: str) -> ContentKey:
    """Rotate: new manifests are signed by ``key_id``. Deploy its .pub to devices first."""
    row = session.get(ContentKey, key_id)
    if row is None or row.retired_at is not None:
        raise NotFound(f"signing key {key_id} does not exist or is retired; list keys with GET /content/keys")
    _activate(session, key_id)
    session.commit()
    session.refresh(row)
    return row


def list_keys(session: Session) -> list[ContentKey]:
    return list(session.scalars(select(ContentKey).order_by(ContentKey.created_at)))


def sign_with_active(session: Session, *, settings: Settings, payload: bytes) -> Signature:
    """Sign with the active key, creating the first key when none exists yet (first publish)."""
    row = session.scalars(select(ContentKey).where(ContentKey.active.is_(True))).first()
    if row is None:
        if session.scalars(select(ContentKey)).first() is not None:
            raise SigningKeyUnavailable(
                "no active signing key: activate one with POST /content/keys/{id}/activate"
            )
        row = create_key(session, settings=settings, activate=True)
    private = signing.load_private(key_dir(settings), row.key_id, passphrase=_passphrase(settings))
    return signing.sign(private, row.key_id, payload)
