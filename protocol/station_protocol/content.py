"""Content bundle manifests: dataclasses, strict parsing and canonical bytes for signing (docs/content.md)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from . import fields as f
from .errors import MalformedMessage

FORMAT = "station-content/1"
HEX = frozenset("0123456789abcdef")
MAX_PATH_BYTES = 1024


@dataclass(frozen=True)
class ChunkRef:
    """One chunk of a file: sha256 of the raw bytes, raw size, stored size (< raw: zlib stream)."""

    sha256: str
    size: int
    stored_size: int

    @property
    def compressed(self) -> bool:
        return self.stored_size < self.size


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mode: int
    sha256: str
    chunks: Tuple[ChunkRef, ...]


@dataclass(frozen=True)
class Chunking:
    algo: str
    min: int
    avg: int
    max: int


@dataclass(frozen=True)
class Manifest:
    bundle: str
    version: str
    seq: int
    created_ms: int
    chunking: Chunking
    files: Tuple[FileEntry, ...]

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)

    def unique_chunks(self) -> Dict[str, ChunkRef]:
        """Every distinct chunk by hash (first occurrence wins; equal hashes have equal bytes)."""
        out: Dict[str, ChunkRef] = {}
        for entry in self.files:
            for ref in entry.chunks:
                out.setdefault(ref.sha256, ref)
        return out


@dataclass(frozen=True)
class Signature:
    key_id: str
    sig: str  # base64


def key_id_of(public_key_raw: bytes) -> str:
    """First 16 hex digits of sha256 of the raw 32-byte ed25519 public key."""
    import hashlib

    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def manifest_to_dict(m: Manifest) -> Dict[str, Any]:
    return {
        "format": FORMAT,
        "bundle": m.bundle,
        "version": m.version,
        "seq": m.seq,
        "created_ms": m.created_ms,
        "chunking": {
            "algo": m.chunking.algo,
            "min": m.chunking.min,
            "avg": m.chunking.avg,
            "max": m.chunking.max,
        },
        "files": [
            {
                "path": e.path,
                "size": e.size,
                "mode": e.mode,
                "sha256": e.sha256,
                "chunks": [[c.sha256, c.size, c.stored_size] for c in e.chunks],
            }
            for e in m.files
        ],
    }


def canonical_bytes(manifest: Dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, UTF-8 (integers and strings only)."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_document(
    manifest: Dict[str, Any], signatures: List[Signature], body_key: str = "manifest"
) -> bytes:
    doc = {body_key: manifest, "signatures": [{"key_id": s.key_id, "sig": s.sig} for s in signatures]}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def split_document(raw: bytes, body_key: str = "manifest") -> Tuple[Dict[str, Any], List[Signature]]:
    """Parse a signed document into (body dict, signatures) without trusting either yet.

    ``body_key`` is ``manifest`` (format 1) or ``snapshot`` (format 2).
    """
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedMessage(f"manifest document: not JSON ({exc})") from exc
    doc = f.obj(doc, "document")
    manifest = f.obj(doc.get(body_key), f"document.{body_key}")
    sigs = doc.get("signatures")
    if not isinstance(sigs, list) or not sigs or len(sigs) > 8:
        raise MalformedMessage("document.signatures: expected a list of 1 to 8 signatures")
    out = []
    for i, item in enumerate(sigs):
        obj = f.obj(item, f"document.signatures[{i}]")
        out.append(Signature(f.text(obj, "key_id", "signature", 16), f.text(obj, "sig", "signature", 128)))
    return dict(manifest), out


def check_path(path: str) -> str:
    """A relative POSIX path without ``.``/``..``/empty segments, NFC, at most 1024 bytes."""
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or unicodedata.normalize("NFC", path) != path
        or len(path.encode("utf-8")) > MAX_PATH_BYTES
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise MalformedMessage(f"manifest path {path!r}: must be a clean relative POSIX path")
    return path


def _hexdigest(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= HEX:
        raise MalformedMessage(f"{where}: expected 64 lowercase hex digits")
    return value


def _chunk(item: Any, where: str) -> ChunkRef:
    if not isinstance(item, list) or len(item) != 3:
        raise MalformedMessage(f"{where}: expected [sha256, size, stored_size]")
    sha, size, stored = item
    for v in (size, stored):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise MalformedMessage(f"{where}: sizes must be positive integers")
    if stored > size:
        raise MalformedMessage(f"{where}: stored size larger than the raw size")
    return ChunkRef(_hexdigest(sha, where), size, stored)


def _file(item: Any, where: str) -> FileEntry:
    obj = f.obj(item, where)
    raw_chunks = obj.get("chunks")
    if not isinstance(raw_chunks, list):
        raise MalformedMessage(f"{where}.chunks: expected a list")
    chunks = tuple(_chunk(c, f"{where}.chunks[{i}]") for i, c in enumerate(raw_chunks))
    entry = FileEntry(
        path=check_path(f.text(obj, "path", where, MAX_PATH_BYTES)),
        size=f.integer(obj, "size", where),
        mode=f.integer(obj, "mode", where),
        sha256=_hexdigest(obj.get("sha256"), f"{where}.sha256"),
        chunks=chunks,
    )
    if sum(c.size for c in chunks) != entry.size:
        raise MalformedMessage(f"{where}: chunk sizes do not add up to the file size")
    return entry


def parse_manifest(data: Dict[str, Any]) -> Manifest:
    """Strictly validate a manifest dict (after its signature was checked)."""
    w = "manifest"
    if data.get("format") != FORMAT:
        raise MalformedMessage(f"{w}.format: expected {FORMAT!r}")
    ch = f.obj(data.get("chunking"), f"{w}.chunking")
    raw_files = data.get("files")
    if not isinstance(raw_files, list):
        raise MalformedMessage(f"{w}.files: expected a list")
    files = tuple(_file(item, f"{w}.files[{i}]") for i, item in enumerate(raw_files))
    paths = [e.path for e in files]
    if paths != sorted(paths) or len(set(paths)) != len(paths):
        raise MalformedMessage(f"{w}.files: paths must be unique and sorted")
    _no_file_dir_clash(paths)
    return Manifest(
        bundle=check_name(f.text(data, "bundle", w, 64), "bundle"),
        version=check_name(f.text(data, "version", w, 64), "version"),
        seq=f.integer(data, "seq", w, minimum=1),
        created_ms=f.integer(data, "created_ms", w),
        chunking=Chunking(
            f.text(ch, "algo", w, 32),
            f.integer(ch, "min", w, 1),
            f.integer(ch, "avg", w, 1),
            f.integer(ch, "max", w, 1),
        ),
        files=files,
    )


def _no_file_dir_clash(paths: List[str]) -> None:
    names = set(paths)
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in names:
                raise MalformedMessage(f"manifest: {path!r} lies under the file {'/'.join(parts[:i])!r}")


def check_name(value: str, what: str) -> str:
    """Bundle names and versions become path segments and URL parts: [A-Za-z0-9._-], 1..64."""
    ok = (
        0 < len(value) <= 64
        and value not in (".", "..")
        and all(c.isascii() and (c.isalnum() or c in "._-") for c in value)
    )
    if not ok:
        raise MalformedMessage(f"{what} {value!r}: use 1-64 of A-Z a-z 0-9 . _ -")
    return value


# -- format 2: signed snapshot, content-addressed index objects, precomputed deltas -------------------
FORMAT_V2 = "station-content/2"
# In a birth's ``capabilities``: this agent syncs format 2 (``snapshot_url``); the controller sends format 1
# to agents without it (docs/protocol.md, docs/content.md §2b).
FORMAT_V2_CAPABILITY = "content.format-2"
CODECS = ("r", "z", "p")  # raw, zstd frame, zstd patch with the base objects as raw-content dictionary


@dataclass(frozen=True)
class ObjectRef:
    """A content-addressed object: sha256 of its raw bytes, raw size, stored (served) size."""

    sha256: str
    size: int
    stored_size: int


@dataclass(frozen=True)
class DeltaRef:
    """A delta from one retained version: its delta object and the exact wire bytes it costs."""

    obj: ObjectRef
    wire_bytes: int


@dataclass(frozen=True)
class Snapshot:
    bundle: str
    version: str
    seq: int
    created_ms: int
    expires_ms: int
    root: ObjectRef
    deltas: Dict[str, DeltaRef]


@dataclass(frozen=True)
class DeltaItem:
    """One object in a pack: ``target`` is its hash, ``bases`` the local objects a patch needs."""

    target: str
    size: int
    codec: str
    offset: int
    length: int
    bases: Tuple[str, ...]


@dataclass(frozen=True)
class Delta:
    base_version: str
    pack: ObjectRef
    items: Tuple[DeltaItem, ...]


def _compact(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def list_object(entry: FileEntry) -> bytes:
    """A file's chunk list object (pure function of the entry: device and publisher derive the same bytes)."""
    return _compact([[c.sha256, c.size, c.stored_size] for c in entry.chunks])


def root_object(m: Manifest) -> bytes:
    """The version's file list: path, size, mode, file sha256 and its chunk list object [hash, size]."""
    files = []
    for e in m.files:
        lst = list_object(e)
        files.append([e.path, e.size, e.mode, e.sha256, hashlib.sha256(lst).hexdigest(), len(lst)])
    ch = m.chunking
    return _compact({"chunking": [ch.algo, ch.min, ch.avg, ch.max], "files": files, "format": FORMAT_V2})


def _ref(item: Any, where: str) -> ObjectRef:
    if not isinstance(item, list) or len(item) != 3:
        raise MalformedMessage(f"{where}: expected [sha256, size, stored_size]")
    for v in item[1:]:
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise MalformedMessage(f"{where}: sizes must be integers >= 0")
    return ObjectRef(_hexdigest(item[0], where), item[1], item[2])


def snapshot_to_dict(s: Snapshot) -> Dict[str, Any]:
    return {
        "format": FORMAT_V2,
        "bundle": s.bundle,
        "version": s.version,
        "seq": s.seq,
        "created_ms": s.created_ms,
        "expires_ms": s.expires_ms,
        "root": [s.root.sha256, s.root.size, s.root.stored_size],
        "deltas": {
            v: [d.obj.sha256, d.obj.size, d.obj.stored_size, d.wire_bytes]
            for v, d in sorted(s.deltas.items())
        },
    }


def parse_snapshot(data: Dict[str, Any]) -> Snapshot:
    """Strictly validate a snapshot dict (after its signature was checked)."""
    w = "snapshot"
    if data.get("format") != FORMAT_V2:
        raise MalformedMessage(f"{w}.format: expected {FORMAT_V2!r}")
    raw = f.obj(data.get("deltas"), f"{w}.deltas")
    deltas = {}
    for v, item in raw.items():
        if not isinstance(item, list) or len(item) != 4 or not isinstance(item[3], int):
            raise MalformedMessage(f"{w}.deltas.{v}: expected [sha256, size, stored_size, wire_bytes]")
        deltas[check_name(v, "version")] = DeltaRef(_ref(item[:3], f"{w}.deltas.{v}"), item[3])
    return Snapshot(
        bundle=check_name(f.text(data, "bundle", w, 64), "bundle"),
        version=check_name(f.text(data, "version", w, 64), "version"),
        seq=f.integer(data, "seq", w, minimum=1),
        created_ms=f.integer(data, "created_ms", w),
        expires_ms=f.integer(data, "expires_ms", w),
        root=_ref(data.get("root"), f"{w}.root"),
        deltas=deltas,
    )


def parse_root(raw: bytes) -> Tuple[Chunking, List[Tuple[str, int, int, str, str, int]]]:
    """(chunking, [(path, size, mode, sha256, list hash, list size)]) of a root object."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedMessage(f"root object: not JSON ({exc})") from exc
    data = f.obj(data, "root")
    if data.get("format") != FORMAT_V2 or not isinstance(data.get("files"), list):
        raise MalformedMessage(f"root.format: expected {FORMAT_V2!r} and a file list")
    ch = data.get("chunking")
    if not isinstance(ch, list) or len(ch) != 4:
        raise MalformedMessage("root.chunking: expected [algo, min, avg, max]")
    out = []
    for i, item in enumerate(data["files"]):
        if not isinstance(item, list) or len(item) != 6:
            raise MalformedMessage(f"root.files[{i}]: expected 6 fields")
        path, size, mode, sha, lh, ls = item
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (size, mode, ls)):
            raise MalformedMessage(f"root.files[{i}]: sizes must be integers >= 0")
        out.append(
            (
                check_path(str(path)),
                size,
                mode,
                _hexdigest(sha, f"root.files[{i}]"),
                _hexdigest(lh, "list"),
                ls,
            )
        )
    paths = [item[0] for item in out]
    if paths != sorted(paths) or len(set(paths)) != len(paths):
        raise MalformedMessage("root.files: paths must be unique and sorted")
    _no_file_dir_clash(paths)
    return Chunking(str(ch[0]), int(ch[1]), int(ch[2]), int(ch[3])), out


def parse_list(raw: bytes, where: str) -> Tuple[ChunkRef, ...]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedMessage(f"{where}: not JSON ({exc})") from exc
    if not isinstance(data, list):
        raise MalformedMessage(f"{where}: expected a chunk list")
    return tuple(_chunk(c, f"{where}[{i}]") for i, c in enumerate(data))


def delta_to_bytes(d: Delta) -> bytes:
    items = [[i.target, i.size, i.codec, i.length, list(i.bases)] for i in d.items]
    return _compact(
        {"from": d.base_version, "pack": [d.pack.sha256, d.pack.size, d.pack.stored_size], "items": items}
    )


def parse_delta(raw: bytes) -> Delta:
    """A delta object: pack items in pack order (offsets are the running sum of lengths)."""
    try:
        data = f.obj(json.loads(raw.decode("utf-8")), "delta")
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedMessage(f"delta object: not JSON ({exc})") from exc
    items = []
    offset = 0
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise MalformedMessage("delta.items: expected a list")
    for i, item in enumerate(raw_items):
        if not isinstance(item, list) or len(item) != 5 or item[2] not in CODECS:
            raise MalformedMessage(f"delta.items[{i}]: expected [target, size, codec, length, bases]")
        target, size, codec, length, bases = item
        if (
            not isinstance(size, int)
            or not isinstance(length, int)
            or length <= 0
            or not isinstance(bases, list)
        ):
            raise MalformedMessage(f"delta.items[{i}]: bad sizes or bases")
        bases_t = tuple(_hexdigest(b_, f"delta.items[{i}].bases") for b_ in bases)
        items.append(DeltaItem(_hexdigest(target, f"delta.items[{i}]"), size, codec, offset, length, bases_t))
        offset += length
    pack = _ref(data.get("pack"), "delta.pack")
    if offset != pack.size:
        raise MalformedMessage("delta: item lengths do not add up to the pack size")
    return Delta(check_name(f.text(data, "from", "delta", 64), "version"), pack, tuple(items))
