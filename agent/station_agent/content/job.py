"""One ``content.sync`` job: its arguments (validated) and its persisted state in state.db (kv)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import urljoin

from station_protocol.content import check_name
from station_protocol.errors import MalformedMessage

from ..errors import CommandRejected
from ..state import StateStore
from .pacing import Window, parse_window

ALLOWED = frozenset(
    {
        "job_id", "bundle", "version", "manifest_url", "chunk_base_url", "rate_kbit", "window",
        "windows_ms", "not_after_ms", "budget_bytes", "activate", "allow_downgrade",
    }
)  # fmt: skip
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


def _typed(args: Dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = args.get(key, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CommandRejected(f"content.sync: {key} must be {kind.__name__}")
    return value


def job_from_args(args: Dict[str, Any], command_id: str) -> SyncJob:
    """Validate ``content.sync`` args (docs/content.md §4); CommandRejected names the bad one."""
    unknown = set(args) - ALLOWED
    if unknown:
        raise CommandRejected(f"content.sync: unknown argument(s) {sorted(unknown)}")
    try:
        bundle = check_name(_typed(args, "bundle", str, ""), "bundle")
        version = check_name(_typed(args, "version", str, ""), "version")
    except MalformedMessage as exc:
        raise CommandRejected(f"content.sync: {exc}") from None
    url = _typed(args, "manifest_url", str, "")
    if not url.startswith(("http://", "https://")):
        raise CommandRejected("content.sync: manifest_url must be an http(s) URL")
    budget = _typed(args, "budget_bytes", int, 0)
    if budget <= 0:
        raise CommandRejected("content.sync: budget_bytes (> 0) is required: a job never downloads unbounded")
    job = SyncJob(
        job_id=_typed(args, "job_id", str, command_id)[:64],
        bundle=bundle,
        version=version,
        manifest_url=url,
        chunk_base_url=_typed(args, "chunk_base_url", str, "") or urljoin(url, "../../"),
        budget_bytes=budget,
        rate_kbit=max(0, _typed(args, "rate_kbit", int, 0)),
        window=_typed(args, "window", dict, None),
        windows_ms=_typed(args, "windows_ms", list, None),
        not_after_ms=_typed(args, "not_after_ms", int, 0),
        activate=_typed(args, "activate", bool, True),
        allow_downgrade=_typed(args, "allow_downgrade", bool, False),
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
