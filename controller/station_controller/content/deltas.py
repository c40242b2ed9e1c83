"""Format 2 at publish time: index objects, a delta (object + pack) per retained version, the snapshot.

For each retained previous version the publisher precomputes what a device holding it must fetch:
the new root object, the chunk lists it lacks and the chunks it lacks, each as the smallest of raw,
a zstd frame, or a zstd patch against the objects the device already has in its place (the old root,
the old list of the same path, the old chunks the new one replaces). They are written back to back
into one static pack, so a device fetches its whole delta with one Range request.
"""

from __future__ import annotations

import difflib
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from station_protocol.content import (
    Delta,
    DeltaItem,
    DeltaRef,
    FileEntry,
    Manifest,
    ObjectRef,
    Signature,
    Snapshot,
    canonical_bytes,
    delta_to_bytes,
    list_object,
    root_object,
    signed_document,
    snapshot_to_dict,
)

from . import zcodec
from .store import ChunkStore

MAX_BASE = 1024 * 1024  # old-chunk bytes per chunk patch: enough for any run of replaced chunks we meet
SAMPLES = 8  # 32-byte probes of a new chunk looked up in its base before trying a patch
SNAPSHOT_TTL_MS = 365 * 86_400_000


@dataclass(frozen=True)
class PublishStats:
    deltas: int
    pack_bytes: int
    object_bytes: int
    seconds: float


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _looks_related(raw: bytes, base: bytes) -> bool:
    step = max(1, (len(raw) - 32) // SAMPLES)
    return any(base.find(raw[i : i + 32]) >= 0 for i in range(0, max(1, len(raw) - 32), step))


def encode(raw: bytes, bases: Sequence[bytes]) -> tuple[str, bytes]:
    """The smallest of raw ("r"), zstd ("z") and zstd patch from the joined bases ("p")."""
    best = ("r", raw)
    probe = raw[:16384]
    if len(zcodec.compress(probe, 3)) < len(probe) * 0.95:
        z = zcodec.compress(raw)
        if len(z) < len(best[1]):
            best = ("z", z)
    # The dictionary is exactly the joined bases the item names (the device joins the same ones): the
    # chunk bases are bounded by _trim, a chunk list's base is its old list, whatever its size (a 1 GiB
    # file's list is ~1.3 MB, and cutting it here broke every patch of such a list).
    base = b"".join(bases)
    if base and _looks_related(raw, base):
        p = zcodec.patch(raw, base)
        if len(p) < len(best[1]):
            best = ("p", p)
    return best


def _runs(old: FileEntry | None, new: FileEntry) -> Iterable[tuple[int, list[str]]]:
    """(index of a new chunk, hashes of the old chunks it replaces) for every chunk not kept in place."""
    old_h = [c.sha256 for c in old.chunks] if old else []
    new_h = [c.sha256 for c in new.chunks]
    ops = difflib.SequenceMatcher(None, old_h, new_h, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        bases = old_h[max(0, i1 - 1) : i2 + 1] if tag == "insert" else old_h[i1:i2]
        for j in range(j1, j2):
            yield j, bases


class _Pack:
    def __init__(self) -> None:
        self.items: list[DeltaItem] = []
        self.data = bytearray()
        self.seen: set[str] = set()

    def add(self, target: str, raw: bytes, bases: list[tuple[str, bytes]]) -> None:
        if target in self.seen:
            return
        self.seen.add(target)
        codec, body = encode(raw, [b for _h, b in bases])
        used = tuple(h for h, _b in bases) if codec == "p" else ()
        self.items.append(DeltaItem(target, len(raw), codec, len(self.data), len(body), used))
        self.data += body


def build_delta(store: ChunkStore, new: Manifest, base: Manifest) -> tuple[Delta, bytes]:
    """The delta from ``base`` to ``new`` and its pack bytes (not yet stored)."""
    pack = _Pack()
    new_root, old_root = root_object(new), root_object(base)
    if _sha(new_root) != _sha(old_root):
        pack.add(_sha(new_root), new_root, [(_sha(old_root), old_root)])
    old_files = {e.path: e for e in base.files}
    old_shas = {e.sha256 for e in base.files}
    old_chunks = {c.sha256 for e in base.files for c in e.chunks}
    sizes = {c.sha256: c.size for e in (*base.files, *new.files) for c in e.chunks}
    changed = [e for e in new.files if e.sha256 not in old_shas]
    old_lists = {_sha(list_object(e)) for e in base.files}
    for entry in changed:  # lists first: a device verifies them before the chunks they name
        lst = list_object(entry)
        old = old_files.get(entry.path)
        bases = [(_sha(list_object(old)), list_object(old))] if old else []
        if _sha(lst) not in old_lists:
            pack.add(_sha(lst), lst, bases)
    for entry in changed:
        old = old_files.get(entry.path)
        for j, base_hashes in _runs(old, entry):
            ref = entry.chunks[j]
            if ref.sha256 in old_chunks or ref.sha256 in pack.seen:
                continue
            bases = [(h, store.read_raw(h, sizes[h])) for h in dict.fromkeys(base_hashes)]
            pack.add(ref.sha256, store.read_raw(ref.sha256, ref.size), _trim(bases))
    data = bytes(pack.data)
    digest = _sha(data)
    return Delta(base.version, ObjectRef(digest, len(data), len(data)), tuple(pack.items)), data


def _trim(bases: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    out, total = [], 0
    for h, raw in bases:
        if total + len(raw) > MAX_BASE:
            break
        out.append((h, raw))
        total += len(raw)
    return out


def publish_v2(
    store: ChunkStore,
    *,
    manifest: Manifest,
    bases: Sequence[Manifest],
    sign: Callable[[bytes], Signature],
    ttl_ms: int = SNAPSHOT_TTL_MS,
) -> tuple[Snapshot, PublishStats]:
    """Write the index objects, one delta per base version and the signed snapshot of ``manifest``."""
    started = time.monotonic()
    object_bytes = 0
    for entry in manifest.files:
        object_bytes += store.put_object(list_object(entry), compress=False)[2]
    root = ObjectRef(*store.put_object(root_object(manifest)))
    object_bytes += root.stored_size
    deltas: dict[str, DeltaRef] = {}
    pack_bytes = 0
    for base in bases:
        if base.version == manifest.version:
            continue
        delta, data = build_delta(store, manifest, base)
        if data:
            store.put_pack(data)
        obj = ObjectRef(*store.put_object(delta_to_bytes(delta)))
        # a device whose root is already right fetches nothing past the snapshot
        deltas[base.version] = DeltaRef(obj, obj.stored_size + len(data) if delta.items else 0)
        pack_bytes += len(data)
        object_bytes += obj.stored_size
    snap = Snapshot(
        manifest.bundle,
        manifest.version,
        manifest.seq,
        manifest.created_ms,
        manifest.created_ms + ttl_ms,
        root,
        deltas,
    )
    body = snapshot_to_dict(snap)
    sig = sign(canonical_bytes(body))
    store.put_snapshot(manifest.bundle, manifest.version, signed_document(body, [sig], "snapshot"))
    stats = PublishStats(len(deltas), pack_bytes, object_bytes, time.monotonic() - started)
    return snap, stats
