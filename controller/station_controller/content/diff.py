"""What changed between two versions of a bundle: files added/removed/changed and new bytes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from station_protocol.content import parse_manifest, split_document

from ..errors import NotFound
from ..settings import Settings
from .service import _version_row, chunk_store, delta_bytes


def _files(settings: Settings, bundle: str, version: str) -> dict[str, str]:
    path = chunk_store(settings).manifest_path(bundle, version)
    try:
        manifest, _ = split_document(path.read_bytes())
    except OSError as exc:
        raise NotFound(f"manifest of {bundle} {version} is gone (retired?)") from exc
    return {e.path: e.sha256 for e in parse_manifest(json.loads(json.dumps(manifest))).files}


def version_diff(
    session: Session, *, settings: Settings, bundle: str, version: str, against: str | None = None
) -> dict[str, Any]:
    """Diff ``version`` against ``against`` (default: the version published just before it)."""
    _, row = _version_row(session, bundle, version)
    if against is None:
        from sqlalchemy import select

        from .models import BundleVersion

        against = session.scalars(
            select(BundleVersion.version)
            .where(BundleVersion.bundle_id == row.bundle_id, BundleVersion.seq < row.seq)
            .order_by(BundleVersion.seq.desc())
        ).first()
    new = _files(settings, bundle, version)
    old = _files(settings, bundle, against) if against else {}
    delta = delta_bytes(session, bundle=bundle, version=version, have_version=against)
    old_by_hash = {h: p for p, h in old.items()}
    added = sorted(p for p in new if p not in old and new[p] not in old_by_hash)
    renamed = sorted(p for p in new if p not in old and new[p] in old_by_hash)
    return {
        "bundle": bundle,
        "version": version,
        "against": against,
        "added": added,
        "renamed": [{"from": old_by_hash[new[p]], "to": p} for p in renamed],
        "removed": sorted(p for p in old if p not in new and old[p] not in new.values()),
        "changed": sorted(p for p in new if p in old and new[p] != old[p]),
        "unchanged": sum(1 for p in new if old.get(p) == new[p]),
        "new_bytes": delta.wire_bytes,
        "new_raw_bytes": delta.raw_bytes,
        "new_chunks": delta.chunks,
        "total_bytes": row.total_bytes,
    }
