"""Streaming FastCDC chunking of files and directories (the only ``fastcdc`` importer).

It lives here so ``stationctl content publish`` can chunk on a staff machine without the server's
dependencies; the controller imports it from here too (offline bundles, ``content/offline.py``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastcdc.fastcdc_cy import fastcdc_cy  # type: ignore[import-untyped]  # the compiled extension; the pure-Python fallback is ~200x slower

from station_protocol.content import Chunking, ChunkRef, FileEntry, check_path

MIN_SIZE = 16 * 1024
AVG_SIZE = 64 * 1024
MAX_SIZE = 256 * 1024
WINDOW = 8 * 1024 * 1024  # bytes read at a time; memory stays O(WINDOW) whatever the file size
COMPRESS_LEVEL = 9
COMPRESS_MIN_SAVING = 0.10
SAMPLE = 16 * 1024  # store compressed only when it saves at least 10 %

DEFAULT_CHUNKING = Chunking("fastcdc", MIN_SIZE, AVG_SIZE, MAX_SIZE)


@dataclass(frozen=True)
class Chunk:
    """One chunk: its reference and the bytes to store (zlib stream when ``ref.compressed``)."""

    ref: ChunkRef
    stored: bytes


def cut_points(stream: BinaryIO, chunking: Chunking = DEFAULT_CHUNKING) -> Iterator[memoryview]:
    """Yield the raw bytes of each chunk, reading ``WINDOW`` bytes at a time.

    FastCDC decides a cut from the bytes after the previous cut only, so a chunk is final once a full
    ``max`` bytes follow its start (or the file ended): results equal chunking the whole file at once.
    """
    buf = b""
    eof = False
    while not eof or buf:
        if not eof:
            more = stream.read(WINDOW)
            eof = not more
            buf = buf + more if buf else more
        if not buf:
            return
        view = memoryview(buf)
        consumed = 0
        for c in fastcdc_cy(view, chunking.min, chunking.avg, chunking.max):
            if not eof and c.offset + chunking.max > len(buf):
                break
            yield view[c.offset : c.offset + c.length]
            consumed = c.offset + c.length
        buf = bytes(view[consumed:])
        if eof and not buf:
            return


def make_chunk(raw: memoryview | bytes) -> Chunk:
    digest = hashlib.sha256(raw).hexdigest()
    probe = raw[:SAMPLE]
    if len(zlib.compress(probe, 1)) > len(probe) * 0.95:  # video and archives: skip the slow full pass
        return Chunk(ChunkRef(digest, len(raw), len(raw)), bytes(raw))
    packed = zlib.compress(raw, COMPRESS_LEVEL)
    if len(packed) <= len(raw) * (1 - COMPRESS_MIN_SAVING):
        return Chunk(ChunkRef(digest, len(raw), len(packed)), packed)
    return Chunk(ChunkRef(digest, len(raw), len(raw)), bytes(raw))


def chunk_file(
    path: Path, rel: str, *, sink: Callable[[Chunk], None], chunking: Chunking = DEFAULT_CHUNKING
) -> FileEntry:
    """Chunk one file, handing every chunk to ``sink`` (which may store or upload it)."""
    whole = hashlib.sha256()
    refs: list[ChunkRef] = []
    size = 0
    with path.open("rb") as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        for raw in cut_points(fh, chunking):
            whole.update(raw)
            size += len(raw)
            chunk = make_chunk(raw)
            refs.append(chunk.ref)
            sink(chunk)
    return FileEntry(check_path(rel), size, mode, whole.hexdigest(), tuple(refs))


def walk(root: Path) -> list[tuple[Path, str]]:
    """Regular files under ``root`` as (path, relative POSIX path), sorted; symlinks are skipped."""
    out: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_symlink() or not full.is_file():
                continue
            out.append((full, full.relative_to(root).as_posix()))
    return sorted(out, key=lambda item: item[1])


def chunk_tree(
    root: Path,
    *,
    sink: Callable[[Chunk], None],
    progress: Callable[[int], None] | None = None,
    chunking: Chunking = DEFAULT_CHUNKING,
) -> list[FileEntry]:
    """Chunk every regular file under ``root``; ``progress`` gets raw bytes processed per file."""
    entries = []
    for full, rel in walk(root):
        entry = chunk_file(full, rel, sink=sink, chunking=chunking)
        entries.append(entry)
        if progress is not None:
            progress(entry.size)
    return entries
