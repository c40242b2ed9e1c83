"""Content-addressed chunk store on disk, laid out exactly as its URLs (docs/content.md §3).

``{root}/chunks/{h[0:4]}/{h}`` stored chunk bytes; ``{root}/bundles/{name}/{version}.json`` signed
manifests. Any static server can serve ``root``; the controller serves it with Range and the shared
origin limiter below.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import re
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import zcodec
from .errors import BadChunk

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
READ_BLOCK = 16 * 1024  # small pieces keep the origin limiter smooth across many streams


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class ChunkStore:
    """Chunks and manifests under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def chunk_path(self, digest: str) -> Path:
        if not HASH_RE.match(digest):
            raise BadChunk(f"{digest!r} is not a sha256 hex digest")
        return self.root / "chunks" / digest[:4] / digest

    def manifest_path(self, bundle: str, version: str, *, gz: bool = False) -> Path:
        return self.root / "bundles" / bundle / f"{version}.json{'.gz' if gz else ''}"

    def has(self, digest: str) -> bool:
        return self.chunk_path(digest).is_file()

    # -- format 2: index objects, delta packs, signed snapshots (docs/content.md §2b) -------------
    def object_path(self, digest: str) -> Path:
        if not HASH_RE.match(digest):
            raise BadChunk(f"{digest!r} is not a sha256 hex digest")
        return self.root / "objects" / digest[:4] / digest

    def pack_path(self, digest: str) -> Path:
        if not HASH_RE.match(digest):
            raise BadChunk(f"{digest!r} is not a sha256 hex digest")
        return self.root / "packs" / digest[:4] / digest

    def snapshot_path(self, bundle: str, version: str) -> Path:
        return self.root / "bundles" / bundle / f"{version}.snap"

    def put_object(self, raw: bytes, *, compress: bool = True) -> tuple[str, int, int]:
        """Store an index object (zstd when asked and smaller); returns (sha256, size, stored size).

        Chunk lists are stored raw: the root names them by hash and raw size only, so a device that
        must fetch one whole knows its length.
        """
        digest = hashlib.sha256(raw).hexdigest()
        packed = zcodec.compress(raw) if compress else raw
        stored = packed if len(packed) < len(raw) else raw
        path = self.object_path(digest)
        if not path.exists():
            _atomic_write(path, stored)
        return digest, len(raw), path.stat().st_size

    def put_pack(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.pack_path(digest)
        if not path.exists():
            _atomic_write(path, data)
        return digest

    def put_snapshot(self, bundle: str, version: str, document: bytes) -> None:
        _atomic_write(self.snapshot_path(bundle, version), document)

    def read_raw(self, digest: str, size: int) -> bytes:
        """A chunk's raw bytes (inflated when stored as zlib)."""
        stored = self.chunk_path(digest).read_bytes()
        return stored if len(stored) == size else _inflate(stored, size, digest)

    def put_chunk(self, digest: str, size: int, stored: bytes) -> None:
        """Verify then store one chunk: raw when ``len(stored) == size``, else a zlib stream."""
        if len(stored) > size or not stored:
            raise BadChunk(f"chunk {digest}: stored size {len(stored)} does not fit raw size {size}")
        raw = stored if len(stored) == size else _inflate(stored, size, digest)
        if len(raw) != size or hashlib.sha256(raw).hexdigest() != digest:
            raise BadChunk(f"chunk {digest}: bytes do not match the hash; re-chunk the file and upload again")
        path = self.chunk_path(digest)
        if not path.exists():
            _atomic_write(path, stored)

    def put_manifest(self, bundle: str, version: str, document: bytes) -> None:
        """The document, and its gzip (what devices fetch: hex hashes compress to about half)."""
        _atomic_write(self.manifest_path(bundle, version), document)
        _atomic_write(self.manifest_path(bundle, version, gz=True), gzip.compress(document, 9, mtime=0))

    def remove_manifest(self, bundle: str, version: str) -> None:
        for gz in (True, False):
            self.manifest_path(bundle, version, gz=gz).unlink(missing_ok=True)
        self.snapshot_path(bundle, version).unlink(missing_ok=True)

    def iter_chunks(self) -> Iterator[tuple[str, Path]]:
        base = self.root / "chunks"
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            for path in sub.iterdir():
                if HASH_RE.match(path.name):
                    yield path.name, path


def _inflate(stored: bytes, size: int, digest: str) -> bytes:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(stored, size + 1)
    except zlib.error as exc:
        raise BadChunk(f"chunk {digest}: not a zlib stream ({exc})") from exc
    return raw


@dataclass
class ByteRange:
    start: int
    end: int  # inclusive


def parse_range(header: str | None, length: int) -> ByteRange | None:
    """One ``bytes=`` range (a-b, a-, -n); None = whole object. Raises ValueError when unsatisfiable."""
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if match is None or (not match.group(1) and not match.group(2)):
        return None  # multi-range or malformed: RFC 7233 allows ignoring it and sending 200
    first, last = match.group(1), match.group(2)
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return ByteRange(max(0, length - suffix), length - 1)
    start = int(first)
    end = min(int(last), length - 1) if last else length - 1
    if start >= length or end < start:
        raise ValueError(f"range {header} outside 0-{length - 1}")
    return ByteRange(start, end)


class OriginLimiter:
    """One token bucket (bits/s) shared by every byte the controller serves under /content/."""

    def __init__(self, rate_bps: int = 0, burst_s: float = 0.25) -> None:
        self._lock = threading.Lock()
        self._rate = rate_bps
        self._burst_s = burst_s
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self.bytes_served = 0
        self.active_streams = 0
        self._configured = False

    def configure_once(self, bits_per_s: int) -> None:
        """Apply the settings' initial rate once; later changes come from set_rate_bps (campaigns)."""
        with self._lock:
            if self._configured:
                return
            self._configured = True
        self.set_rate_bps(bits_per_s)

    def set_rate_bps(self, bits_per_s: int) -> None:
        """0 = unlimited. Takes effect for the next block of every stream."""
        with self._lock:
            self._configured = True
            self._rate = max(0, int(bits_per_s))
            self._tokens = min(self._tokens, self._rate / 8 * self._burst_s)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "rate_bps": self._rate,
                "bytes_served": self.bytes_served,
                "active_streams": self.active_streams,
            }

    def _reserve(self, nbytes: int) -> float:
        """Take ``nbytes`` (may go negative) and return how long the caller must wait first."""
        with self._lock:
            self.bytes_served += nbytes
            if self._rate <= 0:
                return 0.0
            now = time.monotonic()
            per_s = self._rate / 8
            self._tokens = min(per_s * self._burst_s, self._tokens + (now - self._stamp) * per_s)
            self._stamp = now
            self._tokens -= nbytes
            return 0.0 if self._tokens >= 0 else -self._tokens / per_s

    async def stream(self, path: Path, rng: ByteRange) -> AsyncIterator[bytes]:
        """File bytes ``rng`` in READ_BLOCK pieces, each paid for before it is sent."""
        with self._lock:
            self.active_streams += 1
        try:
            with path.open("rb") as fh:
                fh.seek(rng.start)
                left = rng.end - rng.start + 1
                while left > 0:
                    block = fh.read(min(READ_BLOCK, left))
                    if not block:
                        return
                    left -= len(block)
                    wait = self._reserve(len(block))
                    if wait > 0:
                        await asyncio.sleep(wait)
                    yield block
        finally:
            with self._lock:
                self.active_streams -= 1


_ORIGIN = OriginLimiter()


def origin_limiter() -> OriginLimiter:
    """The process-wide origin limiter (campaigns set the overall origin cap here)."""
    return _ORIGIN
