"""Garbage collection: delete chunks that no live version references (after a grace period)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from station_protocol.content import ObjectRef, parse_delta, parse_root, parse_snapshot, split_document

from ..kernel.clock import utcnow
from ..settings import Settings
from . import zcodec
from .models import Bundle, BundleVersion, StoredChunk, VersionChunk
from .service import chunk_store
from .store import HASH_RE, ChunkStore

log = logging.getLogger(__name__)


def collect(session: Session, *, settings: Settings, grace_s: float | None = None) -> dict[str, int]:
    """Drop retired versions' chunk links, then chunks in no live version older than the grace period.

    Young unreferenced chunks survive: they may belong to a publish whose upload is still running.
    """
    grace = settings.content_gc_grace_s if grace_s is None else grace_s
    retired = select(BundleVersion.id).where(BundleVersion.retired.is_(True))
    session.execute(delete(VersionChunk).where(VersionChunk.version_id.in_(retired)))
    live = select(VersionChunk.chunk_hash)
    cutoff = utcnow() - timedelta(seconds=grace)
    victims = session.execute(
        select(StoredChunk.hash, StoredChunk.stored_size).where(
            StoredChunk.hash.not_in(live), StoredChunk.created_at <= cutoff
        )
    ).all()
    hashes = [d for d, _ in victims]
    for i in range(0, len(hashes), 500):
        session.execute(delete(StoredChunk).where(StoredChunk.hash.in_(hashes[i : i + 500])))
    session.commit()  # rows first: a crash leaves orphan files (next GC run), never rows without files
    store = chunk_store(settings)
    for digest in hashes:
        store.chunk_path(digest).unlink(missing_ok=True)
    freed = sum(size for _, size in victims)
    kept = int(session.scalar(select(func.count()).select_from(StoredChunk)) or 0)
    live_names = session.execute(
        select(Bundle.name, BundleVersion.version)
        .join(Bundle, Bundle.id == BundleVersion.bundle_id)
        .where(BundleVersion.retired.is_(False))
    ).all()
    objects, packs = _format2_garbage(store, [(b, v) for b, v in live_names], cutoff.timestamp())
    log.info(
        "content gc: %d chunks deleted, %d bytes freed; format 2: %d objects, %d packs deleted",
        len(hashes),
        freed,
        objects,
        packs,
    )
    return {"chunks_deleted": len(hashes), "bytes_freed": freed, "chunks_kept": kept}


def _format2_garbage(store: ChunkStore, live: list[tuple[str, str]], cutoff_s: float) -> tuple[int, int]:
    """Delete index objects and packs no live snapshot reaches (older than the cutoff)."""
    keep: set[str] = set()
    for bundle, version in live:
        try:
            body, _ = split_document(store.snapshot_path(bundle, version).read_bytes(), "snapshot")
            snap = parse_snapshot(body)
            keep.add(snap.root.sha256)
            _chunking, rows = parse_root(_read(store, snap.root))
            keep.update(row[4] for row in rows)
            for ref in snap.deltas.values():
                keep.add(ref.obj.sha256)
                keep.add(parse_delta(_read(store, ref.obj)).pack.sha256)
        except (OSError, ValueError):  # no snapshot (format 1 only) or unreadable: keep what it named
            continue
    counts = []
    for top in ("objects", "packs"):
        n = 0
        base = store.root / top
        for path in base.glob("*/*") if base.is_dir() else []:
            if HASH_RE.match(path.name) and path.name not in keep and path.stat().st_mtime <= cutoff_s:
                path.unlink(missing_ok=True)
                n += 1
        counts.append(n)
    return counts[0], counts[1]


def _read(store: ChunkStore, ref: ObjectRef) -> bytes:
    stored = store.object_path(ref.sha256).read_bytes()
    return stored if ref.stored_size == ref.size else zcodec.decompress(stored, ref.size)
