"""Firmware files on disk, content-addressed: ``{root}/objects/{h[0:4]}/{h}`` holds each file by its sha256
(a wheel unchanged between releases is stored once), ``{root}/releases/{release_id}/manifest.json`` the
signed document exactly as uploaded.

Our own root, not content's chunk store: content's GC deletes every chunk no content version names.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from ..settings import Settings

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def firmware_root(settings: Settings) -> Path:
    return settings.data_dir / "firmware"


def _tmp_next_to(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


class FirmwareStore:
    """Objects and signed documents under one root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def object_path(self, digest: str) -> Path:
        if not HASH_RE.match(digest):
            raise ValueError(f"{digest!r} is not a sha256 hex digest")
        return self.root / "objects" / digest[:4] / digest

    def document_path(self, release_id: str) -> Path:
        return self.root / "releases" / release_id / "manifest.json"

    def has(self, digest: str) -> bool:
        return self.object_path(digest).is_file()

    def write_document(self, release_id: str, document: bytes) -> None:
        path = self.document_path(release_id)
        tmp = _tmp_next_to(path)
        with tmp.open("wb") as fh:
            fh.write(document)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def put_object(self, digest: str, size: int, pieces: Iterable[bytes]) -> bool:
        """Stream ``pieces`` to the object ``digest``; False (nothing kept) when size or hash differ."""
        path = self.object_path(digest)
        tmp = _tmp_next_to(path)
        sha, written = hashlib.sha256(), 0
        try:
            with tmp.open("wb") as fh:
                for piece in pieces:
                    written += len(piece)
                    if written > size:
                        return False
                    sha.update(piece)
                    fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
            if written != size or sha.hexdigest() != digest:
                return False
            os.replace(tmp, path)
            return True
        finally:
            tmp.unlink(missing_ok=True)
