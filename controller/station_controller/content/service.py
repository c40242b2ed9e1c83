"""Content services: chunk uploads, publishing signed versions, lookups and deltas (each commits)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station_protocol.content import (
    Chunking,
    FileEntry,
    Manifest,
    canonical_bytes,
    check_name,
    manifest_to_dict,
    parse_manifest,
    signed_document,
    split_document,
)
from station_protocol.errors import MalformedMessage

from ..errors import InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..settings import Settings
from . import deltas
from .errors import ChunkMissing, VersionExists
from .keys import content_root, sign_with_active
from .models import Bundle, BundleVersion, StoredChunk, VersionChunk, VersionDelta
from .store import ChunkStore

log = logging.getLogger(__name__)

MAX_HASHES_PER_QUERY = 10000
MIB = 1024 * 1024


@dataclass(frozen=True)
class VersionInfo:
    bundle: str
    version: str
    seq: int
    manifest_url: str
    total_bytes: int
    stored_bytes: int
    new_bytes: int
    new_raw_bytes: int
    file_count: int
    chunk_count: int
    key_id: str
    created_at: datetime
    retired: bool


@dataclass(frozen=True)
class Delta:
    wire_bytes: int
    raw_bytes: int
    chunks: int


def chunk_store(settings: Settings) -> ChunkStore:
    return ChunkStore(content_root(settings) / "store")


def manifest_url(settings: Settings, bundle: str, version: str) -> str:
    return f"{settings.public_url.rstrip('/')}/content/bundles/{bundle}/{version}.json.gz"


def snapshot_url(settings: Settings, bundle: str, version: str) -> str:
    """Format 2: the signed snapshot (docs/content.md §2b)."""
    return f"{settings.public_url.rstrip('/')}/content/bundles/{bundle}/{version}.snap"


def _name(value: str, what: str) -> str:
    try:
        return check_name(value, what)
    except MalformedMessage as exc:
        raise InvalidInput(str(exc)) from exc


def missing_chunks(session: Session, *, hashes: Sequence[str]) -> list[str]:
    """The hashes among ``hashes`` the store does not have (upload those)."""
    if len(hashes) > MAX_HASHES_PER_QUERY:
        raise InvalidInput(f"ask about at most {MAX_HASHES_PER_QUERY} hashes per request")
    wanted = set(hashes)
    have: set[str] = set()
    items = sorted(wanted)
    for i in range(0, len(items), 500):
        have.update(session.scalars(select(StoredChunk.hash).where(StoredChunk.hash.in_(items[i : i + 500]))))
    return sorted(wanted - have)


def store_chunk(session: Session, *, settings: Settings, digest: str, size: int, stored: bytes) -> bool:
    """Verify and store one uploaded chunk; False when it was already there."""
    if session.get(StoredChunk, digest) is not None:
        return False
    chunk_store(settings).put_chunk(digest, size, stored)
    session.add(StoredChunk(hash=digest, size=size, stored_size=len(stored), created_at=utcnow()))
    session.commit()
    return True


def _bundle(session: Session, name: str, *, create: bool = False, keep: int = 3) -> Bundle:
    row = session.scalars(select(Bundle).where(Bundle.name == name)).first()
    if row is None:
        if not create:
            raise NotFound(f"bundle {name!r} does not exist; publish a version first")
        row = Bundle(name=name, keep_versions=keep, created_at=utcnow())
        session.add(row)
        session.flush()
    return row


def _version_row(session: Session, bundle: str, version: str) -> tuple[Bundle, BundleVersion]:
    b = _bundle(session, bundle)
    row = session.scalars(
        select(BundleVersion).where(BundleVersion.bundle_id == b.id, BundleVersion.version == version)
    ).first()
    if row is None:
        raise NotFound(
            f"bundle {bundle!r} has no version {version!r}; list them with `stationctl content list`"
        )
    return b, row


def _info(settings: Settings, bundle: str, row: BundleVersion) -> VersionInfo:
    return VersionInfo(
        bundle=bundle,
        version=row.version,
        seq=row.seq,
        manifest_url=manifest_url(settings, bundle, row.version),
        total_bytes=row.total_bytes,
        stored_bytes=row.stored_bytes,
        new_bytes=row.new_bytes,
        new_raw_bytes=row.new_raw_bytes,
        file_count=row.file_count,
        chunk_count=row.chunk_count,
        key_id=row.key_id,
        created_at=row.created_at,
        retired=row.retired,
    )


def _check_chunks(session: Session, files: Sequence[FileEntry]) -> dict[str, tuple[int, int]]:
    """{hash: (size, stored_size)} of every chunk the files name; all must be stored with those sizes."""
    refs = {c.sha256: (c.size, c.stored_size) for e in files for c in e.chunks}
    items = sorted(refs)
    known: dict[str, tuple[int, int]] = {}
    for i in range(0, len(items), 500):
        rows = session.execute(
            select(StoredChunk.hash, StoredChunk.size, StoredChunk.stored_size).where(
                StoredChunk.hash.in_(items[i : i + 500])
            )
        )
        known.update({h: (s, ss) for h, s, ss in rows})
    bad = [h for h in items if known.get(h) != refs[h]]
    if bad:
        raise ChunkMissing(
            f"{len(bad)} chunks are not stored (or have other sizes), e.g. {bad[0]}; upload them first",
            extra={"missing": bad[:100]},
        )
    return refs


def publish_version(
    session: Session,
    *,
    settings: Settings,
    bundle: str,
    version: str,
    files: Sequence[FileEntry],
    chunking: Chunking,
    created_by: str | None = None,
) -> VersionInfo:
    """Sign and publish a version whose chunks are all stored; retire versions beyond retention."""
    _name(bundle, "bundle")
    _name(version, "version")
    files = sorted(files, key=lambda e: e.path)
    if len({e.path for e in files}) != len(files):
        raise InvalidInput("a path appears twice in the file list")
    b = _bundle(session, bundle, create=True, keep=settings.content_keep_versions)
    if session.scalars(
        select(BundleVersion.id).where(BundleVersion.bundle_id == b.id, BundleVersion.version == version)
    ).first():
        raise VersionExists(f"{bundle} {version} already exists; versions are immutable, pick a new one")
    refs = _check_chunks(session, files)
    seq = (
        session.scalar(select(func.max(BundleVersion.seq)).where(BundleVersion.bundle_id == b.id)) or 0
    ) + 1
    manifest = Manifest(bundle, version, seq, int(utcnow().timestamp() * 1000), chunking, tuple(files))
    body = manifest_to_dict(manifest)
    signature = sign_with_active(session, settings=settings, payload=canonical_bytes(body))
    document = signed_document(body, [signature])
    previous = _latest(session, b)
    prev_hashes = _hashes(session, previous.id) if previous is not None else set()
    new = [h for h in refs if h not in prev_hashes]
    wire = _publish_v2(session, settings, manifest, _live(session, b))
    row = BundleVersion(
        bundle_id=b.id,
        version=version,
        seq=seq,
        manifest_sha256=hashlib.sha256(document).hexdigest(),
        key_id=signature.key_id,
        total_bytes=manifest.total_bytes,
        stored_bytes=sum(v[1] for v in refs.values()),
        new_bytes=wire[previous.version]
        if previous is not None and previous.version in wire
        else sum(refs[h][1] for h in new),
        new_raw_bytes=sum(refs[h][0] for h in new),
        file_count=len(files),
        chunk_count=len(refs),
        created_at=utcnow(),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    session.add_all(VersionChunk(version_id=row.id, chunk_hash=h) for h in refs)
    session.add_all(VersionDelta(version_id=row.id, base_version=v, wire_bytes=n) for v, n in wire.items())
    chunk_store(settings).put_manifest(bundle, version, document)
    _apply_retention(session, settings, b)
    session.commit()
    log.info(
        "content %s %s published: seq %d, %d files, %d new bytes",
        bundle,
        version,
        seq,
        len(files),
        row.new_bytes,
    )
    return _info(settings, bundle, row)


def _live(session: Session, b: Bundle) -> list[BundleVersion]:
    return list(
        session.scalars(
            select(BundleVersion)
            .where(BundleVersion.bundle_id == b.id, BundleVersion.retired.is_(False))
            .order_by(BundleVersion.seq.desc())
        )
    )


def stored_manifest(settings: Settings, bundle: str, version: str) -> Manifest | None:
    """A published version's manifest read back from the store (None when it is gone)."""
    try:
        body, _ = split_document(chunk_store(settings).manifest_path(bundle, version).read_bytes())
        return parse_manifest(body)
    except (OSError, MalformedMessage):
        return None


def _publish_v2(
    session: Session, settings: Settings, manifest: Manifest, live: Sequence[BundleVersion]
) -> dict[str, int]:
    """Write format 2 (deltas from every live version); {base version: exact wire bytes from it}."""
    bases = [
        m for m in (stored_manifest(settings, manifest.bundle, r.version) for r in live) if m is not None
    ]
    store = chunk_store(settings)
    snap, stats = deltas.publish_v2(
        store,
        manifest=manifest,
        bases=bases,
        sign=lambda payload: sign_with_active(session, settings=settings, payload=payload),
    )
    snapshot_size = store.snapshot_path(manifest.bundle, manifest.version).stat().st_size
    log.info(
        "content %s %s format 2: %d deltas, %d pack bytes, %.1f s",
        manifest.bundle,
        manifest.version,
        stats.deltas,
        stats.pack_bytes,
        stats.seconds,
    )
    return {v: snapshot_size + d.wire_bytes for v, d in snap.deltas.items()}


def _latest(session: Session, b: Bundle) -> BundleVersion | None:
    return session.scalars(
        select(BundleVersion)
        .where(BundleVersion.bundle_id == b.id, BundleVersion.retired.is_(False))
        .order_by(BundleVersion.seq.desc())
    ).first()


def _hashes(session: Session, version_id: int) -> set[str]:
    return set(session.scalars(select(VersionChunk.chunk_hash).where(VersionChunk.version_id == version_id)))


def _apply_retention(session: Session, settings: Settings, b: Bundle) -> None:
    live = session.scalars(
        select(BundleVersion)
        .where(BundleVersion.bundle_id == b.id, BundleVersion.retired.is_(False))
        .order_by(BundleVersion.seq.desc())
    ).all()
    for row in live[max(1, b.keep_versions) :]:
        row.retired = True
        chunk_store(settings).remove_manifest(b.name, row.version)


def retire_version(session: Session, *, settings: Settings, bundle: str, version: str) -> VersionInfo:
    """Withdraw a version: its manifest disappears; GC later frees chunks only it used."""
    b, row = _version_row(session, bundle, version)
    row.retired = True
    chunk_store(settings).remove_manifest(b.name, row.version)
    session.commit()
    return _info(settings, bundle, row)


def get_version(session: Session, *, settings: Settings, bundle: str, version: str) -> VersionInfo:
    _, row = _version_row(session, bundle, version)
    return _info(settings, bundle, row)


def latest_version(session: Session, *, settings: Settings, bundle: str) -> VersionInfo:
    row = _latest(session, _bundle(session, bundle))
    if row is None:
        raise NotFound(f"bundle {bundle!r} has no live version")
    return _info(settings, bundle, row)


def list_bundles(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Bundle.name, func.count(BundleVersion.id), func.max(BundleVersion.seq))
        .outerjoin(BundleVersion, (BundleVersion.bundle_id == Bundle.id) & BundleVersion.retired.is_(False))
        .group_by(Bundle.name)
        .order_by(Bundle.name)
    )
    return [{"name": n, "live_versions": c, "latest_seq": s} for n, c, s in rows]


def list_versions(session: Session, *, settings: Settings, bundle: str) -> list[VersionInfo]:
    b = _bundle(session, bundle)
    rows = session.scalars(
        select(BundleVersion).where(BundleVersion.bundle_id == b.id).order_by(BundleVersion.seq.desc())
    )
    return [_info(settings, bundle, r) for r in rows]


def delta_bytes(
    session: Session, *, bundle: str, version: str, have_version: str | None = None, content_format: int = 2
) -> Delta:
    """Bytes a device holding ``have_version`` (None: nothing) downloads to get ``version``.

    ``content_format=1`` (an agent that does not speak format 2) counts the missing chunks only."""
    _, target = _version_row(session, bundle, version)
    q = (
        select(
            func.count(),
            func.coalesce(func.sum(StoredChunk.stored_size), 0),
            func.coalesce(func.sum(StoredChunk.size), 0),
        )
        .select_from(VersionChunk)
        .join(StoredChunk, StoredChunk.hash == VersionChunk.chunk_hash)
        .where(VersionChunk.version_id == target.id)
    )
    if have_version is not None:
        _, have = _version_row(session, bundle, have_version)
        q = q.where(
            VersionChunk.chunk_hash.not_in(
                select(VersionChunk.chunk_hash).where(VersionChunk.version_id == have.id)
            )
        )
    count, wire, raw = session.execute(q).one()
    if have_version is not None and content_format >= 2:  # format 2: the precomputed delta's exact bytes
        exact = session.get(VersionDelta, (target.id, have_version))
        if exact is not None:
            wire = exact.wire_bytes
    return Delta(wire_bytes=int(wire), raw_bytes=int(raw), chunks=int(count))
