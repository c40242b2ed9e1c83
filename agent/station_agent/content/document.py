"""Fetch of the signed document of a job (format 1 manifest or format 2 snapshot), gzip accepted."""

from __future__ import annotations

import logging
import zlib
from typing import Callable, Optional

from .errors import ManifestRejected, SyncFailed, SyncInterrupted
from .http import Fetcher
from .job import SyncJob
from .transfer import Throttled, TransferSettings, Wait, throttle_delay, throttled

log = logging.getLogger(__name__)
MANIFEST_MAX = 256 * 1024 * 1024


def _gunzip(data: bytes) -> bytes:
    """Manifests may be served gzipped (``.json.gz``); the signature covers the decompressed bytes."""
    try:
        out = zlib.decompressobj(wbits=31).decompress(data, MANIFEST_MAX + 1)
    except zlib.error as exc:
        raise ManifestRejected("manifest_invalid", f"bad gzip: {exc}") from exc
    if len(out) > MANIFEST_MAX:
        raise ManifestRejected("manifest_invalid", "manifest larger than 256 MiB")
    return out


def fetch_document(
    job: SyncJob,
    *,
    fetcher: Fetcher,
    settings: TransferSettings,
    stopped: Callable[[], Optional[str]],
    wait: Wait,
    wall: Callable[[], float],
    save: Callable[[SyncJob], None],
    device_id: str,
) -> bytes:
    """The document at ``job.manifest_url``; 429/503 are waited out (Retry-After), other failures bounded."""
    s = settings
    failures = throttles = 0
    while True:
        reason = stopped()
        if reason:
            raise SyncInterrupted(reason)
        try:
            return _once(job, fetcher, s, wall, save)
        except Throttled as exc:
            delay = throttle_delay(s, throttles, exc)
            throttles += 1
            log.info("%s: manifest %s throttled (%s); waiting %.1fs", device_id, job.manifest_url, exc, delay)
        except OSError as exc:
            failures += 1
            log.info("%s: manifest fetch attempt %d failed: %s", device_id, failures, exc)
            if failures >= s.max_retries:
                raise SyncFailed(
                    "stalled", f"manifest {job.manifest_url} unreachable", retryable=True
                ) from None
            delay = min(30.0, s.retry_backoff_s * 2 ** (failures - 1))
        wait(delay)


def _once(
    job: SyncJob,
    fetcher: Fetcher,
    s: TransferSettings,
    wall: Callable[[], float],
    save: Callable[[SyncJob], None],
) -> bytes:
    body = fetcher.open(job.manifest_url, timeout_s=s.stall_timeout_s)
    try:
        if body.status in (404, 410):
            raise SyncFailed("not_found", f"{job.manifest_url} answered {body.status}")
        later = throttled(body.status, body.retry_after, job.manifest_url, wall())
        if later is not None:
            raise later
        if body.status != 200:
            raise OSError(f"HTTP {body.status}")
        data = body.read(min(MANIFEST_MAX, job.budget_bytes - job.bytes_wire) + 1)
    finally:
        body.close()
    job.bytes_wire += len(data)
    if len(data) > job.budget_bytes:
        raise SyncFailed("budget_exceeded", "the manifest alone exceeds the byte budget")
    save(job)
    return _gunzip(data) if data[:2] == b"\x1f\x8b" else data
