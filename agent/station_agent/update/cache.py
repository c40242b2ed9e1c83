"""Files of the installed release by sha256: the next release downloads only the files that changed.

An agent release is mostly dependency wheels that stay byte-identical between our versions (see
docs/firmware.md "Bytes on the wire"), so N → N+1 fetches our own wheels and reuses the rest. The
launcher seeds the cache from the first install; a commit prunes it to the committed release's files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Set

from station_protocol import firmware as fw

from . import launcher as boot
from .download import sha256_of


def take(root: Path, entry: fw.FileEntry, dest: Path) -> bool:
    """Put the cached copy of ``entry`` at ``dest`` (hard link) if there is a verified one."""
    src = root / boot.CACHE_DIR / entry.sha256
    if not src.is_file() or src.stat().st_size != entry.size or sha256_of(src) != entry.sha256:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return True


def keep(root: Path, entry: fw.FileEntry, path: Path) -> None:
    boot.cache_file(root, path, entry.sha256)


def prune(root: Path, wanted: Set[str]) -> None:
    cache = root / boot.CACHE_DIR
    if not cache.is_dir():
        return
    for item in cache.iterdir():
        if item.name not in wanted:
            item.unlink(missing_ok=True)
