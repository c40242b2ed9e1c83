"""The sync engine: one transfer thread running persisted jobs in order (plan, download, assemble, switch)."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from station_protocol.content import ChunkRef, Manifest

from .document import fetch_document
from .errors import ManifestRejected, SyncFailed, SyncInterrupted
from .http import Fetcher
from .job import SNAPSHOT_SUFFIX, JobBook, SyncJob
from .local import ContentTree
from .pacing import TokenBucket
from .progress import Progress
from .transfer import (
    ChunkFetcher,
    Piece,
    TransferSettings,
    Wait,
    WindowClosed,
)
from .v2 import SnapshotSync
from .verify import load_pinned_keys, verify_document, verify_snapshot

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def emit(self, name: str, severity: str, detail: Dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ContentSettings:
    root: Path
    progress_interval_s: float = 10.0
    reserve_bytes: int = 64 * 1024 * 1024  # disk left free after the new version is staged
    transfer: TransferSettings = field(default_factory=TransferSettings)


@dataclass
class Plan:
    manifest: Manifest
    document: bytes
    missing: List[ChunkRef]
    seeds: Dict[str, Any]
    seed_files: Dict[str, Path]
    reused_bytes: int
    spooled: List[str] = field(default_factory=list)  # format 2 objects fetched into the spool


class SyncEngine:
    def __init__(
        self,
        *,
        settings: ContentSettings,
        book: JobBook,
        fetcher: Fetcher,
        sink: EventSink,
        device_id: str = "",
        wall: Callable[[], float] = time.time,
        wait: Optional[Wait] = None,
    ) -> None:
        """``wait`` (default: the stop event's wait) sleeps between retries; tests inject one."""
        self.settings = settings
        self.tree = ContentTree(settings.root)
        self._book = book
        self._fetcher = fetcher
        self._sink = sink
        self._dev = device_id
        self._wall = wall
        self._sleep = wait
        self._wake = threading.Event()
        self._cancel: Dict[str, str] = {}
        self._lock = threading.Lock()

    # -- called from the command worker ----------------------------------------------------------
    def submit(self, job: SyncJob) -> Dict[str, Any]:
        """Queue a job (idempotent on job_id); an older unfinished job of the same bundle is superseded."""
        with self._lock:
            existing = self._book.get(job.job_id)
            if existing is not None:
                return existing.summary()
            for other in self._book.all():
                if other.bundle == job.bundle and other.state in ("queued", "running", "paused"):
                    self._cancel[other.job_id] = "superseded"
                    if other.state == "queued":
                        self._finish_interrupted(other, "superseded")
            self._book.save(job)
        self._wake.set()
        return job.summary()

    def cancel(self, job_id: str) -> Dict[str, Any]:
        with self._lock:
            job = self._book.get(job_id)
            if job is None:
                return {"job_id": job_id, "state": "unknown"}
            if job.state in ("queued", "running", "paused"):
                self._cancel[job_id] = "cancelled"
                if job.state == "queued":
                    self._finish_interrupted(job, "cancelled")
        self._wake.set()
        return {"job_id": job_id, "state": "cancelled"}

    def status(self) -> Dict[str, Any]:
        return {"jobs": [j.summary() for j in self._book.all()], "bundles": self.tree.status()}

    # -- the transfer thread ---------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            job = self._book.next_active()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self.run_job(job, stop)

    def run_job(self, job: SyncJob, stop: threading.Event) -> None:
        started = time.monotonic()
        try:
            plan = self._prepare(job, stop)
            self._download(job, plan, stop)
            self._install(job, plan, time.monotonic() - started)
        except SyncInterrupted as exc:
            if exc.reason != "stop":
                self._finish_interrupted(job, exc.reason)
        except SyncFailed as exc:
            self._fail(job, exc.reason, exc.detail, exc.retryable)
        except OSError as exc:
            self._fail(job, "io_error", str(exc), True)

    def _cancelled(self, job: SyncJob) -> Callable[[], Optional[str]]:
        return lambda: self._cancel.get(job.job_id)

    def _set_state(self, job: SyncJob, state: str) -> None:
        job.state = state
        self._book.save(job)

    def _wait_window(self, job: SyncJob, stop: threading.Event, progress: Optional[Progress]) -> None:
        window = job.pacing_window()
        announced = False
        while True:
            reason = self._cancel.get(job.job_id)
            if reason:
                raise SyncInterrupted(reason)
            if stop.is_set():
                raise SyncInterrupted("stop")
            now = self._wall()
            if job.not_after_ms and now * 1000 > job.not_after_ms:
                raise SyncFailed("deadline", "the job's not_after_ms passed before it finished")
            nxt = window.next_open(now)
            if nxt <= now:
                if announced:
                    self._set_state(job, "running")
                return
            if nxt == float("inf"):
                raise SyncFailed("deadline", "no allowed window is left for this job")
            if not announced:
                self._set_state(job, "paused")
                detail = (
                    progress.detail("paused", "window")
                    if progress
                    else {"state": "paused", "pause_reason": "window"}
                )
                self._emit(job, "content.progress", "info", detail)
                announced = True
            stop.wait(min(5.0, nxt - now))

    def _prepare(self, job: SyncJob, stop: threading.Event) -> Plan:
        self._set_state(job, "running")
        self._wait_window(job, stop, None)
        document = self._fetch_manifest(job, stop)
        spooled: List[str] = []
        if job.manifest_url.endswith(SNAPSHOT_SUFFIX):
            manifest, spooled = self._resolve_snapshot(job, stop, document)
        else:
            manifest = verify_document(document, load_pinned_keys(self.tree.keys_dir))
        if (manifest.bundle, manifest.version) != (job.bundle, job.version):
            raise ManifestRejected("manifest_invalid", f"manifest is {manifest.bundle} {manifest.version}")
        self._check_downgrade(job, manifest.seq)
        seeds, seed_files = self.tree.seeds()
        needed: Dict[str, ChunkRef] = {}
        reused = 0
        for entry in manifest.files:
            if entry.sha256 in seed_files:
                reused += entry.size
                continue
            for ref in entry.chunks:
                if ref.sha256 in seeds or self.tree.has_chunk(ref.sha256):
                    reused += ref.size
                else:
                    needed.setdefault(ref.sha256, ref)
        plan = Plan(manifest, document, list(needed.values()), seeds, seed_files, reused, spooled)
        self._check_budget(job, plan)
        self._check_disk(manifest, plan)
        return plan

    def _fetch_manifest(self, job: SyncJob, stop: threading.Event) -> bytes:
        """The signed document (manifest or snapshot); throttling waited out, failures bounded."""
        return fetch_document(
            job,
            fetcher=self._fetcher,
            settings=self.settings.transfer,
            stopped=lambda: self._cancel.get(job.job_id) or ("stop" if stop.is_set() else None),
            wait=self._sleep or stop.wait,
            wall=self._wall,
            save=self._book.save,
            device_id=self._dev,
        )

    def _check_downgrade(self, job: SyncJob, seq: int) -> None:
        active = self.tree.current(job.bundle)
        current = self.tree.manifest(job.bundle, active) if active else None
        if current is not None and seq < current.seq and not job.allow_downgrade:
            raise ManifestRejected("downgrade", f"seq {seq} is older than active {current.seq}")

    def _resolve_snapshot(
        self, job: SyncJob, stop: threading.Event, document: bytes
    ) -> Tuple[Manifest, List[str]]:
        """Format 2: verify the snapshot, fetch the delta for an installed version, build the manifest."""
        snap = verify_snapshot(document, load_pinned_keys(self.tree.keys_dir))
        if (snap.bundle, snap.version) != (job.bundle, job.version):
            raise ManifestRejected("manifest_invalid", f"snapshot is {snap.bundle} {snap.version}")
        if snap.expires_ms and self._wall() * 1000 > snap.expires_ms:
            raise ManifestRejected("manifest_invalid", "snapshot expired: the publisher must sign it again")
        self._check_downgrade(job, snap.seq)
        seeds, _files = self.tree.seeds()
        sync = SnapshotSync(
            tree=self.tree,
            seeds=seeds,
            base_url=job.chunk_base_url,
            fetch=lambda pieces: self._fetch_pieces(job, stop, pieces),
        )
        # The root of an installed version: nothing changed, nothing past the snapshot. A root that is
        # only spooled (a sync cut or killed after the pack's first item) still needs the rest of the pack.
        if not sync.installed(snap.root.sha256):
            active = self.tree.current(job.bundle)
            others = [v for b, v in self.tree.installed() if b == job.bundle and v != active]
            delta, needed = sync.delta_items(snap, ([active] if active else []) + others)
            need = sum(i.length for i in needed)
            if delta is not None and job.bytes_wire + need > job.budget_bytes:
                raise SyncFailed(
                    "budget_exceeded", f"the delta needs {need} bytes, more than the budget left"
                )
            if delta is not None and needed:
                sync.fetch_pack(delta, needed)
                job.refetched_bytes += sync.refetched
        return sync.manifest(snap), sync.spooled

    def _fetch_pieces(self, job: SyncJob, stop: threading.Event, pieces: List[Piece]) -> None:
        """Fetch pieces in order (paced, windowed, resumable) with their own progress events."""
        if not pieces:
            return
        progress = Progress(
            total=sum(p.length for p in pieces),
            done=0,
            chunks_total=len(pieces),
            interval_s=self.settings.progress_interval_s,
        )
        fetcher = self._chunk_fetcher(job, stop, progress)
        self._emit(job, "content.progress", "info", progress.detail("downloading"))
        for piece in pieces:
            while True:
                try:
                    fetcher.fetch_piece(piece)
                    break
                except WindowClosed:
                    self._wait_window(job, stop, progress)
            progress.chunks_done += 1
            self._book.save(job)
            if progress.due():
                self._emit(job, "content.progress", "info", progress.detail("downloading"))

    def _chunk_fetcher(self, job: SyncJob, stop: threading.Event, progress: Progress) -> ChunkFetcher:
        return ChunkFetcher(
            job=job,
            tree=self.tree,
            fetcher=self._fetcher,
            settings=self.settings.transfer,
            window=job.pacing_window(),
            bucket=TokenBucket(job.rate_kbit * 1000),
            progress=progress,
            stop=stop,
            cancelled=self._cancelled(job),
            wall=self._wall,
            wait=self._sleep or stop.wait,
        )

    def _check_budget(self, job: SyncJob, plan: Plan) -> None:
        partial = sum(self._part_size(r) for r in plan.missing)
        need = sum(r.stored_size for r in plan.missing) - partial
        if job.bytes_wire + need > job.budget_bytes:
            raise SyncFailed(
                "budget_exceeded",
                f"needs {need} more bytes, budget left {job.budget_bytes - job.bytes_wire}; not starting",
            )

    def _part_size(self, ref: ChunkRef) -> int:
        part = self.tree.part_path(ref.sha256)
        return min(part.stat().st_size, ref.stored_size) if part.exists() else 0

    def _check_disk(self, manifest: Manifest, plan: Plan) -> None:
        staged = sum(e.size for e in manifest.files if e.sha256 not in plan.seed_files)
        need = staged + sum(r.size for r in plan.missing) + self.settings.reserve_bytes
        self.tree.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.tree.root).free
        if free < need:
            raise SyncFailed(
                "disk_space", f"needs {need} bytes free, {free} available; free space and resend"
            )

    def _download(self, job: SyncJob, plan: Plan, stop: threading.Event) -> None:
        partial = sum(self._part_size(r) for r in plan.missing)
        progress = Progress(
            total=sum(r.stored_size for r in plan.missing),
            done=partial,
            chunks_total=len(plan.missing),
            interval_s=self.settings.progress_interval_s,
        )
        chunks = self._chunk_fetcher(job, stop, progress)
        self._emit(job, "content.progress", "info", progress.detail("downloading"))
        for ref in plan.missing:
            while True:
                try:
                    chunks.fetch(ref)
                    break
                except WindowClosed:
                    self._wait_window(job, stop, progress)
            progress.chunks_done += 1
            self._book.save(job)  # bytes_wire/refetched survive a restart
            if progress.due():
                self._emit(job, "content.progress", "info", progress.detail("downloading"))

    def _install(self, job: SyncJob, plan: Plan, duration_s: float) -> None:
        m = plan.manifest
        self.tree.assemble(m, plan.document, plan.seeds, plan.seed_files)
        previous = self.tree.activate(m.bundle, m.version) if job.activate else None
        if job.activate:
            self.tree.drop_chunks([r.sha256 for r in plan.missing] + plan.spooled)
        self._set_state(job, "done")
        self._emit(
            job,
            "content.done",
            "info",
            {
                "seq": m.seq,
                "activated": job.activate,
                "previous": previous,
                "bytes_wire": job.bytes_wire,
                "bytes_reused": plan.reused_bytes,
                "refetched_bytes": job.refetched_bytes,
                "duration_s": round(duration_s, 3),
            },
        )

    def _fail(self, job: SyncJob, reason: str, detail: str, retryable: bool) -> None:
        log.warning("%s: content job %s failed: %s %s", self._dev, job.job_id, reason, detail)
        job.reason, job.detail = reason, detail
        self._set_state(job, "failed")
        self._emit(
            job, "content.failed", "error", {"reason": reason, "detail": detail, "retryable": retryable}
        )

    def _finish_interrupted(self, job: SyncJob, reason: str) -> None:
        job.reason = reason
        self._set_state(job, "failed")
        self._cancel.pop(job.job_id, None)
        self._emit(job, "content.failed", "error", {"reason": reason, "detail": reason, "retryable": False})

    def _emit(self, job: SyncJob, name: str, severity: str, detail: Dict[str, Any]) -> None:
        base: Dict[str, Any] = {"job_id": job.job_id, "bundle": job.bundle, "version": job.version}
        base.update(detail)
        if name == "content.progress":
            base["refetched_bytes"] = job.refetched_bytes
        self._sink.emit(name, severity, base)
