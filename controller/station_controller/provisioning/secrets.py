"""Encrypted SSH keys and device passwords (Fernet under a key from settings) and log redaction.

The Fernet and HKDF primitives are in ``station_controller.crypto``, the only ``cryptography`` importer.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..crypto import KeyRing, Undecryptable, derive_fernet_key
from ..errors import InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..settings import Settings
from .errors import SecretsKeyError
from .models import ProvisioningSecret

log = logging.getLogger(__name__)

KINDS = ("password", "ssh_key")
MASK = "***"
_HKDF_INFO = b"station-fleet provisioning secrets v1"
_UNDECRYPTABLE = (
    "a stored secret does not decrypt with the configured keys: restore the key it was stored "
    "with (add it to STATION_PROVISIONING_SECRETS_OLD_KEYS) or store the secret again"
)


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from the controller's secret key (used when no dedicated key is set)."""
    return derive_fernet_key(secret_key.encode(), info=_HKDF_INFO)


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any old key (rotation)."""

    def __init__(self, settings: Settings) -> None:
        current = settings.provisioning_secrets_key.get_secret_value().encode()
        keys = [current or derived_key(settings.secret_key.get_secret_value())]
        keys += [k.get_secret_value().encode() for k in settings.provisioning_secrets_old_keys]
        try:
            self._ring = KeyRing(keys)
        except ValueError as exc:
            raise SecretsKeyError(
                "STATION_PROVISIONING_SECRETS_KEY must be a Fernet key (python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())')"
            ) from exc

    def encrypt(self, value: str) -> str:
        return self._ring.encrypt(value.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._ring.decrypt(token.encode("ascii")).decode()
        except Undecryptable:
            raise SecretsKeyError(_UNDECRYPTABLE) from None

    def reencrypt(self, token: str) -> str:
        try:
            return self._ring.rotate(token.encode("ascii")).decode("ascii")
        except Undecryptable:
            raise SecretsKeyError(_UNDECRYPTABLE) from None


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a secret: never its value."""

    name: str
    kind: str
    fingerprint: str
    hint: str


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def hint_for(kind: str, value: str) -> str:
    if kind == "ssh_key":
        first = value.strip().splitlines()[0] if value.strip() else ""
        return first.strip("- ").replace("BEGIN ", "")[:40] or "key"
    return MASK + value[-2:] if len(value) >= 8 else MASK


def _info(row: ProvisioningSecret) -> SecretInfo:
    return SecretInfo(name=row.name, kind=row.kind, fingerprint=row.fingerprint, hint=row.hint)


def put_secret(session: Session, *, settings: Settings, name: str, kind: str, value: str) -> SecretInfo:
    """Store (or replace) secret ``name``; only the ciphertext and a short hint are kept."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if not name.strip() or not value:
        raise InvalidInput("a secret needs a name and a non-empty value")
    row = session.scalar(select(ProvisioningSecret).where(ProvisioningSecret.name == name))
    now = utcnow()
    if row is None:
        row = ProvisioningSecret(name=name, created_at=now)
        session.add(row)
    row.kind, row.updated_at = kind, now
    row.ciphertext = SecretBox(settings).encrypt(value)
    row.fingerprint, row.hint = fingerprint(value), hint_for(kind, value)
    session.commit()
    log.info("secret %s (%s) stored, fingerprint %s", name, kind, row.fingerprint)
    return _info(row)


def list_secrets(session: Session) -> list[SecretInfo]:
    rows = session.scalars(select(ProvisioningSecret).order_by(ProvisioningSecret.name))
    return [_info(r) for r in rows]


def delete_secret(session: Session, *, name: str) -> None:
    row = session.scalar(select(ProvisioningSecret).where(ProvisioningSecret.name == name))
    if row is None:
        raise NotFound(f"no secret named {name!r}")
    session.delete(row)
    session.commit()
    log.info("secret %s deleted", name)


def read_secret(session: Session, *, box: SecretBox, name: str) -> str:
    """The plain value, for the job runner only (never for an API response)."""
    row = session.scalar(select(ProvisioningSecret).where(ProvisioningSecret.name == name))
    if row is None:
        raise NotFound(f"no secret named {name!r}: store it with POST /api/v1/provisioning/secrets")
    return box.decrypt(row.ciphertext)


def reencrypt_all(session: Session, *, settings: Settings) -> int:
    """Move every secret to the current key (after adding a new key and listing the old one)."""
    box = SecretBox(settings)
    rows = list(session.scalars(select(ProvisioningSecret)))
    for row in rows:
        row.ciphertext = box.reencrypt(row.ciphertext)
    session.commit()
    return len(rows)


class Redactor:
    """Masks every registered secret value in text; shared by a job's log sink and the log filter."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)
                # An SSH key may surface line by line (e.g. in an error message).
                self._values.update(line for line in value.splitlines() if len(line) >= 16)

    def mask(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text


REDACTOR = Redactor()  # every secret a runner in this process decrypted


class RedactingFilter(logging.Filter):
    """Masks known secrets in a record's final message (attached to provisioning loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = REDACTOR.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


REDACTING_FILTER = RedactingFilter()
log.addFilter(REDACTING_FILTER)
