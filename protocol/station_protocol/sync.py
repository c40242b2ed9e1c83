"""``content.*`` command arguments/outputs and the content job events (docs/content.md §4).

(``content.py`` next to this module holds the bundle manifest format.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from . import bounds as b
from . import codec as c
from .spec import CommandSpec, EventSpec

SYNC = "content.sync"
CANCEL = "content.cancel"
STATUS = "content.status"
PROGRESS = "content.progress"
DONE = "content.done"
FAILED = "content.failed"

JOB_STATES = ("queued", "running", "paused", "done", "failed", "cancelled", "unknown")


@dataclass(frozen=True)
class SyncArgs:
    """``budget_bytes`` is required: never unbounded; ``job_id`` defaults to the command id.

    ``snapshot_url`` (format 2, docs/content.md §2b) is preferred over ``manifest_url`` (format 1) by
    agents that know it; an agent that does not answers ``rejected`` (unknown argument), and the
    controller then sends format 1 (``sync_command_args(content_format=1)``).
    """

    bundle: str = c.spec(c.token(64))
    version: str = c.spec(c.token(64))
    manifest_url: str = c.spec(c.token(2048))
    budget_bytes: int = c.spec(c.integer(1, b.SAFE_INT_MAX))
    job_id: Optional[str] = c.optional(c.token(64))
    chunk_base_url: Optional[str] = c.optional(c.token(2048))
    snapshot_url: Optional[str] = c.optional(c.token(2048))
    rate_kbit: int = c.spec(c.integer(0, 100_000_000), 0)
    window: Optional[Dict[str, Any]] = c.optional(c.tree(b.ARGS))
    windows_ms: Optional[Tuple[Tuple[int, int], ...]] = c.optional(c.int_pairs())
    not_after_ms: int = c.spec(c.integer(0, b.MAX_TS_MS), 0)
    activate: bool = c.spec(c.boolean(), True)
    allow_downgrade: bool = c.spec(c.boolean(), False)


@dataclass(frozen=True)
class JobSummary:
    """``content.sync`` output and ``content.status`` job entries."""

    job_id: str = c.spec(c.token(64))
    state: str = c.spec(c.choice(*JOB_STATES))
    bundle: str = c.spec(c.token(64))
    version: str = c.spec(c.token(64))


@dataclass(frozen=True)
class CancelArgs:
    job_id: str = c.spec(c.token(64))


@dataclass(frozen=True)
class CancelOutput:
    job_id: str = c.spec(c.token(64))
    state: str = c.spec(c.choice("cancelled", "unknown"))


@dataclass(frozen=True)
class StatusOutput:
    jobs: Tuple[JobSummary, ...] = c.spec(c.items(JobSummary, 256))
    bundles: Dict[str, Any] = c.spec(c.tree(b.OUTPUT))


@dataclass(frozen=True)
class Progress:
    """Body of ``content.progress`` (``state``: waiting, downloading, paused; ``eta_s`` while downloading)."""

    job_id: str = c.spec(c.token(64))
    bundle: str = c.spec(c.token(64))
    version: str = c.spec(c.token(64))
    state: str = c.spec(c.token(32))
    bytes_done: int = c.spec(c.integer())
    bytes_total: int = c.spec(c.integer())
    chunks_done: int = c.spec(c.integer())
    chunks_total: int = c.spec(c.integer())
    rate_bps: int = c.spec(c.integer())
    refetched_bytes: int = c.spec(c.integer())
    eta_s: Optional[float] = c.optional(c.number())
    pause_reason: Optional[str] = c.optional(c.token(64))


@dataclass(frozen=True)
class Done:
    """Body of ``content.done``; ``previous`` is the version that was active before (or null)."""

    job_id: str = c.spec(c.token(64))
    bundle: str = c.spec(c.token(64))
    version: str = c.spec(c.token(64))
    seq: int = c.spec(c.integer(1))
    activated: bool = c.spec(c.boolean())
    bytes_wire: int = c.spec(c.integer())
    bytes_reused: int = c.spec(c.integer())
    refetched_bytes: int = c.spec(c.integer())
    duration_s: float = c.spec(c.number())
    previous: Optional[str] = c.optional(c.token(64))


@dataclass(frozen=True)
class Failed:
    """Body of ``content.failed``; ``reason`` is a short tag (docs/content.md), ``detail`` the text."""

    job_id: str = c.spec(c.token(64))
    bundle: str = c.spec(c.token(64))
    version: str = c.spec(c.token(64))
    reason: str = c.spec(c.token(32))
    detail: str = c.spec(lambda d, k, w: str(c.opt(c.line(2048))(d, k, w) or ""))
    retryable: bool = c.spec(c.boolean())


COMMAND_SPECS: Tuple[CommandSpec, ...] = (
    CommandSpec(SYNC, SyncArgs, JobSummary),
    CommandSpec(CANCEL, CancelArgs, CancelOutput),
    CommandSpec(STATUS, c.Empty, StatusOutput),
)
EVENT_SPECS: Tuple[EventSpec, ...] = (
    EventSpec(PROGRESS, Progress),
    EventSpec(DONE, Done),
    EventSpec(FAILED, Failed),
)
