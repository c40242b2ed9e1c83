"""Job services: create, retry (failed devices only), resume, cancel, restart recovery and queries."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...errors import Conflict, InvalidInput, NotFound
from ...kernel.clock import utcnow
from ...registry.models import Device
from ...registry.queries import DeviceFilter, device_conditions, dialect_of
from ...registry.queries import _tagged_stations as tagged_stations
from ...settings import Settings
from .contract import ActionRegistry
from .models import FINAL_DEVICE_STATES, Job, JobDevice, JobLog

log = logging.getLogger(__name__)

RETRYABLE = ("failed", "unreachable")
RESTART_REASON = "controller restarted while this device ran; resume the job to run it again"


@dataclass(frozen=True)
class Selector:
    """Which devices a job runs on; all given criteria must match (tags: every tag)."""

    region: str | None = None
    tags: Sequence[str] = ()
    role: str | None = None
    station: str | None = None
    device_ids: Sequence[str] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "tags": list(self.tags),
            "role": self.role,
            "station": self.station,
            "device_ids": list(self.device_ids),
        }


@dataclass(frozen=True)
class JobRequest:
    action: str
    selector: Selector
    params: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    concurrency: int | None = None


def resolve_selector(session: Session, selector: Selector) -> list[str]:
    """Device ids matching ``selector``, ordered by id."""
    flt = DeviceFilter(region=selector.region, role=selector.role, station=selector.station)
    cond = device_conditions(flt, dialect_of(session))
    cond += [Device.station_id.in_(tagged_stations(tag)) for tag in selector.tags]
    if selector.device_ids:
        cond.append(Device.id.in_(list(selector.device_ids)))
    if not cond:
        raise InvalidInput(
            "a job needs a selector (region, tags, role, station or device_ids), not the whole fleet"
        )
    return list(session.scalars(select(Device.id).where(*cond).order_by(Device.id)))


def _concurrency(settings: Settings, wanted: int | None) -> int:
    value = wanted or settings.provisioning_concurrency
    if not 1 <= value <= settings.provisioning_max_concurrency:
        raise InvalidInput(f"concurrency must be 1..{settings.provisioning_max_concurrency}")
    return value


def _new_job(session: Session, req: JobRequest, *, settings: Settings, user: str, ids: Sequence[str]) -> Job:
    now = utcnow()
    job = Job(
        action=req.action,
        params=dict(req.params),
        selector=req.selector.as_dict(),
        dry_run=req.dry_run,
        concurrency=_concurrency(settings, req.concurrency),
        status="running",
        created_by=user,
        created_at=now,
        started_at=now,
    )
    session.add(job)
    session.flush()
    session.add_all(JobDevice(job_id=job.id, device_id=d, status="queued", reason="", diff="") for d in ids)
    return job


def create_job(
    session: Session, *, settings: Settings, actions: ActionRegistry, request: JobRequest, user: str
) -> Job:
    """Create a job over the selected devices and queue them; the runner starts them at once."""
    actions.get(request.action)  # refuse an unknown action before anything is stored
    ids = resolve_selector(session, request.selector)
    if not ids:
        raise InvalidInput("no device matches the selector")
    job = _new_job(session, request, settings=settings, user=user, ids=ids)
    session.commit()
    log.info("job %d (%s) created by %s over %d devices", job.id, job.action, user, len(ids))
    return job


def get_job(session: Session, *, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no provisioning job {job_id}")
    return job


def retry_job(session: Session, *, settings: Settings, job_id: int, user: str) -> Job:
    """A new job (``retry_of`` = job_id) over only the devices that failed or were unreachable."""
    old = get_job(session, job_id=job_id)
    ids = list(
        session.scalars(
            select(JobDevice.device_id)
            .where(JobDevice.job_id == job_id, JobDevice.status.in_(RETRYABLE))
            .order_by(JobDevice.device_id)
        )
    )
    if not ids:
        raise Conflict(f"job {job_id} has no failed or unreachable device to retry")
    selector = Selector(device_ids=ids)
    req = JobRequest(old.action, selector, old.params, old.dry_run, old.concurrency)
    job = _new_job(session, req, settings=settings, user=user, ids=ids)
    job.retry_of = old.id
    session.commit()
    log.info("job %d retries %d devices of job %d", job.id, len(ids), job_id)
    return job


def resume_job(session: Session, *, job_id: int) -> Job:
    """Run the job's interrupted (and still queued) devices again, in the same job."""
    job = get_job(session, job_id=job_id)
    if job.status not in ("interrupted", "running"):
        raise Conflict(f"job {job_id} is {job.status}; only an interrupted job can be resumed")
    session.execute(
        update(JobDevice)
        .where(JobDevice.job_id == job_id, JobDevice.status == "interrupted")
        .values(status="queued", reason="")
    )
    job.status, job.finished_at = "running", None
    session.commit()
    log.info("job %d resumed", job_id)
    return job


def cancel_job(session: Session, *, job_id: int) -> Job:
    """Queued and interrupted devices become ``cancelled``; devices already running finish."""
    job = get_job(session, job_id=job_id)
    if job.status in ("done", "cancelled"):
        raise Conflict(f"job {job_id} is already {job.status}")
    session.execute(
        update(JobDevice)
        .where(JobDevice.job_id == job_id, JobDevice.status.in_(("queued", "interrupted")))
        .values(status="cancelled", reason="cancelled by staff", finished_at=utcnow())
    )
    job.status = "cancelled"
    session.commit()
    finish_if_complete(session, job_id=job_id)
    return job


def recover_after_restart(session: Session) -> int:
    """Mark devices left ``running`` by a dead process ``interrupted``, and their jobs (resume them)."""
    now = utcnow()
    job_ids = list(session.scalars(select(JobDevice.job_id).where(JobDevice.status == "running").distinct()))
    count = session.execute(
        update(JobDevice)
        .where(JobDevice.status == "running")
        .values(status="interrupted", reason=RESTART_REASON, finished_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if job_ids:  # jobs that merely had queued devices go on by themselves
        session.execute(
            update(Job).where(Job.id.in_(job_ids), Job.status == "running").values(status="interrupted")
        )
    session.commit()
    if count:
        log.warning("%d devices in jobs %s were interrupted by a restart; resume those jobs", count, job_ids)
    return int(count or 0)


def finish_if_complete(session: Session, *, job_id: int) -> bool:
    """Close the job when no device is queued, running or interrupted any more."""
    open_count = session.scalar(
        select(func.count())
        .select_from(JobDevice)
        .where(JobDevice.job_id == job_id, JobDevice.status.not_in(FINAL_DEVICE_STATES))
    )
    if open_count:
        return False
    job = get_job(session, job_id=job_id)
    if job.finished_at is None:
        job.finished_at = utcnow()
        job.status = "cancelled" if job.status == "cancelled" else "done"
        session.commit()
        log.info("job %d %s", job_id, job.status)
    return True


def counts(session: Session, *, job_id: int) -> dict[str, int]:
    rows = session.execute(
        select(JobDevice.status, func.count()).where(JobDevice.job_id == job_id).group_by(JobDevice.status)
    )
    return {status: int(n) for status, n in rows}


def job_devices(session: Session, *, job_id: int, status: str | None = None) -> list[JobDevice]:
    stmt = select(JobDevice).where(JobDevice.job_id == job_id)
    if status:
        stmt = stmt.where(JobDevice.status == status)
    return list(session.scalars(stmt.order_by(JobDevice.device_id)))


def list_jobs(session: Session, *, limit: int = 50) -> list[Job]:
    return list(session.scalars(select(Job).order_by(Job.id.desc()).limit(max(1, min(limit, 500)))))


def logs_after(session: Session, *, job_id: int, after: int = 0, limit: int = 500) -> list[JobLog]:
    stmt = select(JobLog).where(JobLog.job_id == job_id, JobLog.id > after).order_by(JobLog.id)
    return list(session.scalars(stmt.limit(max(1, min(limit, 5000)))))
