"""Download of one chunk: Range resume from its .part file, pacing, budget, verification, bounded retries.

A 429 or 503 answer is the server saying "later", not a failed attempt: the fetcher waits at least its
Retry-After (jittered backoff, capped at ``throttle_max_s``) and asks again for as long as the window
is open, without using up ``max_retries``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from station_protocol.content import ChunkRef

from ..retry_after import parse_retry_after, retry_delay
from .errors import BudgetExceeded, SyncInterrupted, TransferFailed
from .http import Body, Fetcher
from .job import SyncJob
from .local import ContentTree
from .pacing import TokenBucket, Window
from .progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferSettings:
    stall_timeout_s: float = 30.0  # no byte for this long: the attempt failed
    max_retries: int = 5  # consecutive failed attempts without progress before giving up
    retry_backoff_s: float = 2.0  # doubles per attempt, capped at 60 s
    max_404: int = 3  # a missing object is asked for at most this often
    max_hash_mismatch: int = 3
    read_block: int = 16384
    throttle_max_s: float = 600.0  # longest single wait a 429/503 Retry-After may impose


THROTTLE_STATUSES = (429, 503)
Wait = Callable[[float], bool]  # sleeps up to n seconds; True when the agent is stopping


class Throttled(OSError):
    """The server answered 429/503; ``retry_after_s`` is its Retry-After (None: not given or invalid)."""

    def __init__(self, message: str, retry_after_s: Optional[float]) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def throttled(status: int, retry_after: Optional[str], url: str, now: float) -> Optional[Throttled]:
    """The Throttled error for a 429/503 answer, else None."""
    if status not in THROTTLE_STATUSES:
        return None
    return Throttled(f"HTTP {status} for {url}", parse_retry_after(retry_after, now))


def throttle_delay(settings: TransferSettings, waits: int, exc: Throttled) -> float:
    """How long to wait after the ``waits``-th consecutive throttled answer (0-based)."""
    return retry_delay(
        waits,
        exc.retry_after_s,
        minimum=settings.retry_backoff_s,
        maximum=60.0,
        cap_s=settings.throttle_max_s,
    )


@dataclass
class Piece:
    """Bytes ``start .. start+length`` of ``url`` into spool part ``key``; ``finish`` verifies and commits.

    ``finish`` gets the stored bytes and returns False on a mismatch (the part is dropped and refetched).
    ``bounded`` pieces (slices of a pack) send an end in their Range and need a server that honours it.
    """

    key: str
    url: str
    length: int
    finish: Callable[[bytes], bool]
    start: int = 0
    bounded: bool = False


class WindowClosed(Exception):
    """The allowed window ended mid-chunk; the .part file keeps what arrived."""


class ChunkFetcher:
    """Fetches chunks for one job; ``on_bytes`` persists/reports progress."""

    def __init__(
        self,
        *,
        job: SyncJob,
        tree: ContentTree,
        fetcher: Fetcher,
        settings: TransferSettings,
        window: Window,
        bucket: TokenBucket,
        progress: Progress,
        stop: threading.Event,
        cancelled: Callable[[], Optional[str]],
        wall: Callable[[], float] = time.time,
        wait: Optional[Wait] = None,
    ) -> None:
        self._job = job
        self._tree = tree
        self._fetcher = fetcher
        self._s = settings
        self._window = window
        self._bucket = bucket
        self._progress = progress
        self._stop = stop
        self._cancelled = cancelled
        self._wall = wall
        self._wait = wait or stop.wait

    def _check(self) -> None:
        reason = self._cancelled()
        if reason:
            raise SyncInterrupted(reason)
        if self._stop.is_set():
            raise SyncInterrupted("stop")
        if not self._window.is_open(self._wall()):
            raise WindowClosed()

    def fetch(self, ref: ChunkRef) -> None:
        """Get one chunk into the spool, verified. Raises TransferFailed after bounded retries."""
        self.fetch_piece(
            Piece(ref.sha256, self.url(ref), ref.stored_size, lambda data: self._verify(ref, data))
        )

    def fetch_piece(self, piece: Piece) -> None:
        """Get one piece, verified. Raises TransferFailed after bounded retries."""
        failures = 0
        not_found = 0
        mismatches = 0
        throttled_in_a_row = 0
        while True:
            self._check()
            try:
                if self._attempt(piece):
                    return
                mismatches += 1
                if mismatches >= self._s.max_hash_mismatch:
                    raise TransferFailed(
                        "hash_mismatch", f"object {piece.key} failed verification {mismatches} times"
                    )
                continue
            except Throttled as exc:
                delay = throttle_delay(self._s, throttled_in_a_row, exc)
                throttled_in_a_row += 1
                log.info(
                    "content %s: chunk %s throttled (%s, Retry-After %s); waiting %.1fs",
                    self._job.job_id,
                    piece.key[:12],
                    exc,
                    "none" if exc.retry_after_s is None else f"{exc.retry_after_s:.0f}s",
                    delay,
                )
                self._wait(delay)
                continue
            except _NotFound as exc:
                not_found += 1
                if not_found >= self._s.max_404:
                    raise TransferFailed(
                        "not_found", f"{exc} ({not_found} times); the version may be retired"
                    ) from None
            except OSError as exc:
                failures = 0 if getattr(exc, "progressed", False) else failures + 1
                if failures >= self._s.max_retries:
                    raise TransferFailed("stalled", f"object {piece.key}: {exc}", retryable=True) from None
                log.info(
                    "content %s: object %s attempt failed (%s); retrying",
                    self._job.job_id,
                    piece.key[:12],
                    exc,
                )
            throttled_in_a_row = 0
            self._wait(min(60.0, self._s.retry_backoff_s * (2 ** max(0, failures - 1))))

    def url(self, ref: ChunkRef) -> str:
        return f"{self._job.chunk_base_url}chunks/{ref.sha256[:4]}/{ref.sha256}"

    def _attempt(self, piece: Piece) -> bool:
        """One GET; True when the piece is committed, False on a mismatch (part discarded)."""
        part = self._tree.part_path(piece.key)
        part.parent.mkdir(parents=True, exist_ok=True)
        offset = part.stat().st_size if part.exists() else 0
        if offset > piece.length:
            part.unlink()
            offset = 0
        if offset < piece.length:
            self._download(piece, part, offset)
        stored = part.read_bytes()
        if not piece.finish(stored):
            log.warning("content %s: %s failed verification; refetching", self._job.job_id, piece.key[:12])
            part.unlink()
            self._job.refetched_bytes += len(stored)
            self._progress.add(-len(stored))
            return False
        part.unlink()
        return True

    def _open(self, piece: Piece, offset: int) -> Body:
        timeout = self._s.stall_timeout_s
        if piece.bounded:
            end = piece.start + piece.length - 1
            return self._fetcher.open(piece.url, offset=piece.start + offset, timeout_s=timeout, end=end)
        return self._fetcher.open(piece.url, offset=offset, timeout_s=timeout)

    def _download(self, piece: Piece, part: Path, offset: int) -> None:
        body = self._open(piece, offset)
        progressed = False
        try:
            if body.status in (404, 410):
                raise _NotFound(f"{piece.url} answered {body.status}")
            later = throttled(body.status, body.retry_after, piece.url, self._wall())
            if later is not None:
                raise later
            if body.status == 200 and piece.bounded:
                raise OSError(f"{piece.url}: the server ignored Range (a pack needs Range support)")
            if body.status == 200 and offset:
                self._job.refetched_bytes += offset  # server ignored Range: start over
                offset = 0
            elif body.status not in (200, 206):
                raise OSError(f"HTTP {body.status} for {piece.url}")
            with part.open("r+b" if offset else "wb") as out:
                out.seek(offset)
                out.truncate()
                left = piece.length - offset
                while left > 0:
                    self._check()
                    n = min(self._s.read_block, left)
                    if self._job.bytes_wire + n > self._job.budget_bytes:
                        raise BudgetExceeded(
                            f"{self._job.bytes_wire + n} bytes would pass the budget {self._job.budget_bytes}"
                        )
                    self._bucket.take(n, self._stop)
                    block = body.read(n)
                    if not block:
                        raise OSError("connection closed early")
                    out.write(block)
                    left -= len(block)
                    progressed = True
                    self._job.bytes_wire += len(block)
                    self._progress.add(len(block))
        except OSError as exc:
            exc.progressed = progressed  # type: ignore[attr-defined]
            raise
        finally:
            body.close()

    def _verify(self, ref: ChunkRef, stored: bytes) -> bool:
        raw: Optional[bytes] = stored
        if ref.compressed:
            try:
                raw = zlib.decompressobj().decompress(stored, ref.size + 1)
            except zlib.error:
                raw = None
        if raw is None or len(raw) != ref.size or hashlib.sha256(raw).hexdigest() != ref.sha256:
            return False
        self._tree.commit_chunk(ref.sha256, raw)
        return True


class _NotFound(OSError):
    pass
