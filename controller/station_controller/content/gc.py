"""Garbage collection: delete chunks that no live version references (after a grace period)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..kernel.clock import utcnow
from ..settings import Settings
from .models import BundleVersion, StoredChunk, VersionChunk
from .service import chunk_store

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
    log.info("content gc: %d chunks deleted, %d bytes freed", len(hashes), freed)
    return {"chunks_deleted": len(hashes), "bytes_freed": freed, "chunks_kept": kept}
