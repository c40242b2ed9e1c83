"""Firmware releases: upload a signed document, upload its files, list, get, retire (docs/firmware.md).

The controller never signs firmware: it verifies the staff signature against the pinned firmware keys
(keys.py), stores the document exactly as uploaded and serves it with the files to the devices, which
verify it again themselves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from station_protocol import firmware as fw

from ..errors import InvalidInput
from ..kernel.clock import as_utc, utcnow
from ..settings import Settings
from .errors import ReleaseExists, ReleaseNotFound
from .keys import verify_document
from .models import FirmwareRelease
from .store import FirmwareStore, firmware_root

log = logging.getLogger(__name__)


def release_store(settings: Settings) -> FirmwareStore:
    return FirmwareStore(firmware_root(settings))


def version_key(version: str) -> str:
    """``1.4.2`` → ``000000001.000000004.000000002.000000000``: sorts as the version compares."""
    parts = fw.parse_version(version) + (0,) * (fw.MAX_VERSION_PARTS - len(fw.parse_version(version)))
    return ".".join(f"{p:09d}" for p in parts)


@dataclass(frozen=True)
class ReleaseInfo:
    release_id: str
    kind: str
    name: str
    version: str
    state: str  # incomplete (files missing) | ready | retired
    missing: list[str]
    key_id: str
    created_ms: int
    expires_ms: int
    rollback_of: str | None
    total_bytes: int
    file_count: int
    notes: str
    compatibility: dict[str, object]
    uploaded_by: str | None
    uploaded_at: datetime
    retired_at: datetime | None


def _ms(moment: datetime) -> int:
    return int(as_utc(moment).timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def missing_files(store: FirmwareStore, row: FirmwareRelease) -> list[str]:
    return [f["path"] for f in row.manifest["files"] if not store.has(str(f["sha256"]))]


def info(store: FirmwareStore, row: FirmwareRelease) -> ReleaseInfo:
    missing = missing_files(store, row)
    state = "retired" if row.retired_at is not None else "incomplete" if missing else "ready"
    return ReleaseInfo(
        release_id=row.release_id,
        kind=row.kind,
        name=row.name,
        version=row.version,
        state=state,
        missing=missing,
        key_id=row.key_id,
        created_ms=_ms(row.created_at),
        expires_ms=_ms(row.expires_at),
        rollback_of=row.rollback_of,
        total_bytes=row.total_bytes,
        file_count=row.file_count,
        notes=row.notes,
        compatibility=dict(row.manifest.get("compatibility") or {}),
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        retired_at=row.retired_at,
    )


def upload_release(
    session: Session, *, settings: Settings, document: bytes, by: str | None, now: datetime | None = None
) -> tuple[ReleaseInfo, bool]:
    """Verify and store a signed document; (info, created). The same bytes again are a no-op.

    Raises ReleaseRefused (reason unsigned/malformed/unknown_key/tampered/expired) or ReleaseExists.
    """
    moment = now or utcnow()
    verified = verify_document(session, document=document, now_ms=_ms(moment))
    m = verified.manifest
    digest = hashlib.sha256(document).hexdigest()
    store = release_store(settings)
    existing = session.get(FirmwareRelease, m.release_id)
    if existing is not None:
        if existing.document_sha256 != digest:
            raise ReleaseExists(
                f"release {m.release_id} exists with another manifest; sign a new version instead"
            )
        return info(store, existing), False
    store.write_document(m.release_id, document)
    row = FirmwareRelease(
        release_id=m.release_id,
        kind=m.kind,
        name=m.name,
        version=m.version,
        version_key=version_key(m.version),
        rollback_of=m.rollback_of,
        key_id=verified.key_id,
        manifest=dict(verified.manifest_dict),
        document_sha256=digest,
        total_bytes=m.total_bytes,
        file_count=len(m.files),
        created_at=_from_ms(m.created_ms),
        expires_at=_from_ms(m.expires_ms),
        uploaded_by=by,
        uploaded_at=moment,
        notes=m.notes,
    )
    session.add(row)
    session.commit()
    log.info("firmware release %s uploaded by %s (key %s)", m.release_id, by, verified.key_id)
    return info(store, row), True


def _row(session: Session, release_id: str) -> FirmwareRelease:
    row = session.get(FirmwareRelease, release_id)
    if row is None:
        raise ReleaseNotFound(
            f"firmware release {release_id} does not exist; list them with GET /api/v1/firmware/releases"
        )
    return row


def put_file(
    session: Session, *, settings: Settings, release_id: str, path: str, pieces: Iterable[bytes]
) -> ReleaseInfo:
    """Store one file of the release, checked against the manifest's size and sha256 (422 otherwise)."""
    row = _row(session, release_id)
    entry = next((f for f in row.manifest["files"] if f["path"] == path), None)
    if entry is None:
        raise InvalidInput(f"{path}: not a file of release {release_id}")
    store = release_store(settings)
    digest, size = str(entry["sha256"]), int(entry["size"])
    if not store.has(digest) and not store.put_object(digest, size, pieces):
        raise InvalidInput(f"{path}: bytes do not match the manifest's size {size} and sha256 {digest}")
    return info(store, row)


def get_release(session: Session, *, settings: Settings, release_id: str) -> ReleaseInfo:
    return info(release_store(settings), _row(session, release_id))


def list_releases(
    session: Session, *, settings: Settings, kind: str | None = None, include_retired: bool = True
) -> list[ReleaseInfo]:
    stmt = select(FirmwareRelease).order_by(FirmwareRelease.kind, FirmwareRelease.version_key.desc())
    if kind:
        stmt = stmt.where(FirmwareRelease.kind == kind)
    if not include_retired:
        stmt = stmt.where(FirmwareRelease.retired_at.is_(None))
    store = release_store(settings)
    return [info(store, row) for row in session.scalars(stmt)]


def retire_release(session: Session, *, settings: Settings, release_id: str) -> ReleaseInfo:
    """No new campaign may use it; devices already installing it can still fetch it."""
    row = _row(session, release_id)
    if row.retired_at is None:
        row.retired_at = utcnow()
        session.commit()
    return info(release_store(settings), row)


def usable_release(session: Session, *, settings: Settings, release_id: str) -> ReleaseInfo:
    """A release a campaign may send: every file uploaded, not retired, not expired."""
    found = get_release(session, settings=settings, release_id=release_id)
    if found.state != "ready":
        missing = f" (missing {', '.join(found.missing[:5])})" if found.missing else ""
        raise InvalidInput(
            f"release {release_id} is {found.state}{missing}; upload its files or pick another"
        )
    if found.expires_ms <= _ms(utcnow()):
        raise InvalidInput(f"release {release_id} has expired; sign a new one")
    return found


def latest_release(session: Session, *, settings: Settings, kind: str) -> ReleaseInfo:
    stmt = (
        select(FirmwareRelease.release_id)
        .where(FirmwareRelease.kind == kind, FirmwareRelease.retired_at.is_(None))
        .where(FirmwareRelease.rollback_of.is_(None))
        .order_by(FirmwareRelease.version_key.desc())
        .limit(1)
    )
    release_id = session.scalar(stmt)
    if release_id is None:
        raise ReleaseNotFound(f"no {kind} release is uploaded; publish one with stationctl firmware publish")
    return usable_release(session, settings=settings, release_id=release_id)


def document_file(settings: Settings, session: Session, release_id: str) -> Path | None:
    """The signed document a device fetches (None when there is no such release)."""
    if session.get(FirmwareRelease, release_id) is None:
        return None
    return release_store(settings).document_path(release_id)


def release_file(settings: Settings, session: Session, release_id: str, path: str) -> tuple[Path, str] | None:
    """(object path, sha256) of one file of a release, or None."""
    row = session.get(FirmwareRelease, release_id)
    if row is None:
        return None
    entry = next((f for f in row.manifest["files"] if f["path"] == path), None)
    if entry is None:
        return None
    digest = str(entry["sha256"])
    return release_store(settings).object_path(digest), digest
