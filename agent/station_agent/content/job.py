"""One ``content.sync`` job: its arguments (validated) and its persisted state in state.db (kv)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import urljoin

from station_protocol import codec
from station_protocol.content import check_name
from station_protocol.errors import MalformedMessage
from station_protocol.sync import SYNC, SyncArgs

from ..errors import CommandRejected
from ..state import StateStore
from .pacing import Window, parse_window

SNAPSHOT_SUFFIX = ".snap"  # format 2 (docs/content.md §2b); .json/.json.gz is format 1
QUEUE_KEY = "content.jobs"
ACTIVE_STATES = ("queued", "running", "paused")


@dataclass
class SyncJob:
    job_id: str
    bundle: str
    version: str
    manifest_url: str
    chunk_base_url: str
    budget_bytes: int
    rate_kbit: int = 0
    window: Optional[Dict[str, Any]] = None
    windows_ms: Optional[List[List[int]]] = None
    not_after_ms: int = 0
    activate: bool = True
    allow_downgrade: bool = False
    state: str = "queued"
    bytes_wire: int = 0  # everything fetched so far (manifest, chunks, refetches): the budget's counter
    refetched_bytes: int = 0
    reason: Optional[str] = None
    detail: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def pacing_window(self) -> Window:
        return parse_window(self.window, self.windows_ms)

    def summary(self) -> Dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state, "bundle": self.bundle, "version": self.version}


def _url(value: str, what: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise CommandRejected(f"content.sync: {what} must be an http(s) URL")
    return value


def job_from_args(args: Dict[str, Any], command_id: str) -> SyncJob:
    """Validate ``content.sync`` args with the typed ``SyncArgs``; CommandRejected names the bad one."""
    try:
        a = codec.decode(SyncArgs, args, SYNC)
        check_name(a.bundle, "bundle")
        check_name(a.version, "version")
    except MalformedMessage as exc:
        raise CommandRejected(f"{SYNC}: {exc}") from None
    url = _url(a.manifest_url, "manifest_url")
    if a.snapshot_url is not None:  # format 2 when the controller offers it
        url = _url(a.snapshot_url, "snapshot_url")
        if not url.endswith(SNAPSHOT_SUFFIX):
            raise CommandRejected(f"{SYNC}: snapshot_url must name a {SNAPSHOT_SUFFIX} document")
    job = SyncJob(
        job_id=(a.job_id or command_id)[:64],
        bundle=a.bundle,
        version=a.version,
        manifest_url=url,
        chunk_base_url=a.chunk_base_url or urljoin(url, "../../"),
        budget_bytes=a.budget_bytes,
        rate_kbit=a.rate_kbit,
        window=dict(a.window) if a.window is not None else None,
        windows_ms=[list(pair) for pair in a.windows_ms] if a.windows_ms is not None else None,
        not_after_ms=a.not_after_ms,
        activate=a.activate,
        allow_downgrade=a.allow_downgrade,
    )
    job.pacing_window()  # validates the window args now, so a bad one is answered "rejected"
    if not job.chunk_base_url.endswith("/"):
        job.chunk_base_url += "/"
    return job


class JobBook:
    """Jobs in state.db (kv ``content.jobs``): survive restarts and kill -9; the order is the run order."""

    def __init__(self, store: StateStore, keep_finished: int = 20) -> None:
        self._store = store
        self._keep = keep_finished

    def all(self) -> List[SyncJob]:
        raw = self._store.get_json(QUEUE_KEY) or []
        return [SyncJob(**item) for item in raw]

    def get(self, job_id: str) -> Optional[SyncJob]:
        return next((j for j in self.all() if j.job_id == job_id), None)

    def save(self, job: SyncJob) -> None:
        with self._store.transaction():
            jobs = [j for j in self.all() if j.job_id != job.job_id]
            existing = self.get(job.job_id)
            position = next((i for i, j in enumerate(self.all()) if j.job_id == job.job_id), len(jobs))
            jobs.insert(position if existing else len(jobs), job)
            finished = [j for j in jobs if j.state not in ACTIVE_STATES]
            drop = {j.job_id for j in finished[: max(0, len(finished) - self._keep)]}
            self._store.put_json(QUEUE_KEY, [asdict(j) for j in jobs if j.job_id not in drop])

    def next_active(self) -> Optional[SyncJob]:
        return next((j for j in self.all() if j.state in ACTIVE_STATES), None)
