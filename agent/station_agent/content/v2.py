"""Format 2 planning: signed snapshot → root object → chunk lists → chunks, with precomputed deltas.

What a device already has is never fetched: the root and the chunk lists of its installed versions are
derived from their manifests (pure functions, so the hashes match the publisher's), chunks come from
installed files and the spool. Everything else comes from the delta for the active version (one
pack, fetched in as few Range requests as its needed items allow), and only what the delta does not
cover from ``objects/`` and ``chunks/`` one by one. Every object is hash-checked before use; a
patch is checked by the hash of its result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from station_protocol.content import (
    ChunkRef,
    Delta,
    DeltaItem,
    FileEntry,
    Manifest,
    ObjectRef,
    Snapshot,
    list_object,
    manifest_to_dict,
    parse_delta,
    parse_list,
    parse_manifest,
    parse_root,
    root_object,
)
from station_protocol.errors import MalformedMessage

from .errors import ManifestRejected, SyncFailed
from .local import ContentTree, Seed
from .transfer import Piece
from .zcodec import DecodeError, decode

MAX_RUN = 1024 * 1024  # bytes per pack request: progress, resume and pacing stay fine-grained
FetchPieces = Callable[[List[Piece]], None]


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class LocalIndex:
    """Index objects the device can derive from its installed versions: {hash: raw bytes}."""

    def __init__(self, tree: ContentTree) -> None:
        self.objects: Dict[str, bytes] = {}
        for bundle, version in tree.installed():
            m = tree.manifest(bundle, version)
            if m is None:
                continue
            root = root_object(m)
            self.objects[sha(root)] = root
            for entry in m.files:
                lst = list_object(entry)
                self.objects.setdefault(sha(lst), lst)


@dataclass
class V2Plan:
    manifest: Manifest
    spooled: List[str] = field(default_factory=list)  # spool entries to drop after activation


def runs(items: Sequence[DeltaItem], max_run: int = MAX_RUN) -> List[List[DeltaItem]]:
    """Contiguous needed items grouped into runs of at most ``max_run`` bytes (one request each)."""
    out: List[List[DeltaItem]] = []
    for item in items:
        last = out[-1] if out else None
        if (
            last
            and last[-1].offset + last[-1].length == item.offset
            and item.offset + item.length - last[0].offset <= max_run
        ):
            last.append(item)
        else:
            out.append([item])
    return out


class SnapshotSync:
    """Resolves one snapshot into a Manifest, fetching only what is missing (through ``fetch``)."""

    def __init__(
        self, *, tree: ContentTree, seeds: Dict[str, Seed], base_url: str, fetch: FetchPieces
    ) -> None:
        self._tree = tree
        self._seeds = seeds
        self._base = base_url
        self._fetch = fetch
        self._local = LocalIndex(tree)
        self.spooled: List[str] = []
        self.failed: List[DeltaItem] = []
        self.refetched = 0  # bytes of pack items that failed verification and were fetched again

    def have(self, digest: str) -> bool:
        return digest in self._local.objects or digest in self._seeds or self._tree.has_chunk(digest)

    def installed(self, digest: str) -> bool:
        """An index object of an installed version (not merely spooled by an interrupted sync)."""
        return digest in self._local.objects

    def _bytes(self, digest: str) -> Optional[bytes]:
        if digest in self._local.objects:
            return self._local.objects[digest]
        return self._tree.read_base(digest, self._seeds)

    def _commit(self, digest: str, raw: bytes) -> None:
        self._tree.commit_chunk(digest, raw)
        self.spooled.append(digest)

    # -- objects/ (index objects one by one) ---------------------------------------------------
    def _object_piece(self, ref: ObjectRef) -> Piece:
        def finish(stored: bytes) -> bool:
            try:
                raw = stored if ref.stored_size == ref.size else decode(stored, ref.size)
            except DecodeError:
                return False
            if sha(raw) != ref.sha256:
                return False
            self._commit(ref.sha256, raw)
            return True

        url = f"{self._base}objects/{ref.sha256[:4]}/{ref.sha256}"
        return Piece(ref.sha256, url, ref.stored_size, finish)

    def object(self, ref: ObjectRef) -> bytes:
        if not self.have(ref.sha256):
            self._fetch([self._object_piece(ref)])
        raw = self._bytes(ref.sha256)
        if raw is None or sha(raw) != ref.sha256:
            raise SyncFailed("hash_mismatch", f"object {ref.sha256} is not available intact", retryable=True)
        return raw

    # -- the delta pack ------------------------------------------------------------------------
    def delta_items(
        self, snap: Snapshot, candidates: Sequence[str]
    ) -> Tuple[Optional[Delta], List[DeltaItem]]:
        """The delta for the first candidate version the snapshot has one for, and its needed items."""
        for version in candidates:
            ref = snap.deltas.get(version)
            if ref is None:
                continue
            try:
                delta = parse_delta(self.object(ref.obj))
            except MalformedMessage as exc:
                raise ManifestRejected("manifest_invalid", f"delta object: {exc}") from exc
            needed = [
                i for i in delta.items if not self.have(i.target) and all(self.have(b) for b in i.bases)
            ]
            return delta, needed
        return None, []

    def fetch_pack(self, delta: Delta, needed: Sequence[DeltaItem]) -> None:
        url = f"{self._base}packs/{delta.pack.sha256[:4]}/{delta.pack.sha256}"
        pieces = [self._run_piece(delta, run, url) for run in runs(needed)]
        self._fetch(pieces)
        retry, self.failed = self.failed, []
        self.refetched += sum(i.length for i in retry)
        self._fetch([self._run_piece(delta, [item], url, single=True) for item in retry])

    def _run_piece(self, delta: Delta, run: List[DeltaItem], url: str, single: bool = False) -> Piece:
        start = run[0].offset
        length = run[-1].offset + run[-1].length - start

        def finish(stored: bytes) -> bool:
            bad = []
            for item in run:
                body = stored[item.offset - start : item.offset - start + item.length]
                if not self._apply(item, body):
                    bad.append(item)
            if single:
                return not bad
            self.failed.extend(bad)  # refetched one by one: a corrupt item costs only itself
            return True

        return Piece(f"{delta.pack.sha256}-{start}", url, length, finish, start=start, bounded=True)

    def _apply(self, item: DeltaItem, body: bytes) -> bool:
        try:
            if item.codec == "r":
                raw = body
            elif item.codec == "z":
                raw = decode(body, item.size)
            else:
                parts = [self._bytes(b) for b in item.bases]
                if any(p is None for p in parts):
                    return False
                raw = decode(body, item.size, b"".join(p for p in parts if p is not None))
        except DecodeError:
            return False
        if len(raw) != item.size or sha(raw) != item.target:
            return False
        self._commit(item.target, raw)
        return True

    # -- the manifest ----------------------------------------------------------------------------
    def manifest(self, snap: Snapshot) -> Manifest:
        """The version's manifest rebuilt from its verified root object and chunk lists."""
        try:
            chunking, rows = parse_root(self.object(snap.root))
            files = []
            for path, size, mode, file_sha, list_hash, list_size in rows:
                raw = self.object(ObjectRef(list_hash, list_size, list_size))  # lists are served raw
                files.append(FileEntry(path, size, mode, file_sha, parse_list(raw, path)))
            m = Manifest(snap.bundle, snap.version, snap.seq, snap.created_ms, chunking, tuple(files))
            return parse_manifest(json.loads(json.dumps(manifest_to_dict(m))))
        except MalformedMessage as exc:
            raise ManifestRejected("manifest_invalid", str(exc)) from exc


def missing_chunks(
    m: Manifest, have: Callable[[str], bool], seed_files: Dict[str, object]
) -> Tuple[List[ChunkRef], int]:
    needed: Dict[str, ChunkRef] = {}
    reused = 0
    for entry in m.files:
        if entry.sha256 in seed_files:
            reused += entry.size
            continue
        for ref in entry.chunks:
            if have(ref.sha256):
                reused += ref.size
            else:
                needed.setdefault(ref.sha256, ref)
    return list(needed.values()), reused
