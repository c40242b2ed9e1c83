"""Resumable, verified, rate-capped downloads of a release's manifest and files (HTTP ``Range``).

A file grows in ``<name>.part``; a restart (or kill -9) resumes at its length with ``Range: bytes=N-``.
Only a file whose size and sha256 match the signed manifest is renamed to its final name. urllib is
imported on first use: an idle agent does not carry it (tests/agent/test_role_imports.py).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, TypeVar

from station_protocol import firmware as fw

from .errors import DownloadFailed
from .faults import fault

T = TypeVar("T")
BLOCK = 64 * 1024
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class Transfer:
    timeout_s: float
    rate_bps: int  # bytes per second, 0: uncapped
    cancel: threading.Event


def _open(url: str, offset: int, timeout_s: float):  # type: ignore[no-untyped-def]
    import urllib.error
    import urllib.request

    headers = {"Range": f"bytes={offset}-"} if offset else {}
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) URLs from the controller
    try:
        return urllib.request.urlopen(req, timeout=timeout_s)  # noqa: S310 - http(s) URLs from the controller
    except urllib.error.HTTPError as exc:
        if exc.code == 416:
            return None  # nothing left past ``offset``
        raise DownloadFailed(f"GET {url}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DownloadFailed(f"GET {url}: {exc}") from None


def fetch_manifest(url: str, timeout_s: float) -> bytes:
    resp = _open(url, 0, timeout_s)
    if resp is None:
        raise DownloadFailed(f"GET {url}: empty")
    with resp:
        data: bytes = resp.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise DownloadFailed(f"GET {url}: manifest larger than {MAX_MANIFEST_BYTES} bytes")
    return data


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        for block in iter(lambda: src.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_file(
    url: str, dest: Path, entry: fw.FileEntry, t: Transfer, on_bytes: Callable[[int], None]
) -> int:
    """Bytes transferred now; ``dest`` is complete and verified afterwards, or Refused("tampered")."""
    if dest.exists() and dest.stat().st_size == entry.size and sha256_of(dest) == entry.sha256:
        return 0
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    if offset > entry.size:
        offset = 0
    got = _stream(url, part, offset, entry.size, t, on_bytes) if offset < entry.size else 0
    if part.stat().st_size != entry.size or sha256_of(part) != entry.sha256:
        part.unlink()
        raise fw.Refused("tampered", f"{entry.path}: size or sha256 differs from the signed manifest")
    os.replace(part, dest)
    return got


def _stream(
    url: str, part: Path, offset: int, size: int, t: Transfer, on_bytes: Callable[[int], None]
) -> int:
    resp = _open(url, offset, t.timeout_s)
    if resp is None:
        return 0
    got, started = 0, time.monotonic()
    with resp:
        if offset and resp.status != 206:
            offset = 0  # the server ignored Range: start over
        with open(part, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            while offset + got < size + 1:
                if t.cancel.is_set():
                    raise DownloadFailed("cancelled")
                block = resp.read(BLOCK)
                if not block:
                    break
                out.write(block)
                out.flush()  # in the kernel's hands: a kill -9 keeps it, the resume starts after it
                got += len(block)
                on_bytes(len(block))
                if offset + got < size:
                    fault("download")
                _pace(got, started, t.rate_bps, t.cancel)
            out.flush()
            os.fsync(out.fileno())
    return got


def _pace(sent: int, started: float, rate_bps: int, cancel: threading.Event) -> None:
    """Sleep until ``sent`` bytes fit under ``rate_bps`` since ``started``."""
    if rate_bps <= 0:
        return
    ahead = sent / rate_bps - (time.monotonic() - started)
    if ahead > 0:
        cancel.wait(ahead)


def retrying(call: Callable[[], T], retries: int, max_wait_s: float, cancel: threading.Event) -> T:
    """``call()`` with exponential backoff on DownloadFailed (1, 2, 4 ... ``max_wait_s``)."""
    for attempt in range(retries):
        try:
            return call()
        except DownloadFailed:
            if attempt == retries - 1 or cancel.wait(min(max_wait_s, 2.0**attempt)):
                raise
    raise DownloadFailed("no attempts")


def file_url(files_base_url: Optional[str], manifest_url: str, path: str) -> str:
    """``files_base_url + path``; default: the ``files/`` folder next to the manifest."""
    from urllib.parse import quote

    base = files_base_url or manifest_url.rsplit("/", 1)[0] + "/files/"
    return base + quote(path)
