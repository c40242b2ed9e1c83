"""Jobs API: create, list, detail, retry, resume, cancel, log lines by polling or SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ...api.deps import AppSettings, DbSession, SessionFactory
from ...auth.deps import Operator, Viewer
from . import service
from .deps import Runner
from .models import Job
from .schemas import JobDetail, JobDeviceOut, JobIn, JobOut, LogLineOut
from .service import JobRequest, Selector

router = APIRouter(prefix="/provisioning", tags=["provisioning"])


def _out(session: Session, job: Job) -> JobOut:
    out = JobOut.model_validate(job)
    out.counts = service.counts(session, job_id=job.id)
    return out


@router.get("/actions")
def actions(runner: Runner, _user: Viewer) -> list[str]:
    return runner.actions.names()


@router.post("/jobs", status_code=201)
def create_job(
    body: JobIn, runner: Runner, settings: AppSettings, session: DbSession, user: Operator
) -> JobOut:
    req = JobRequest(
        body.action, Selector(**body.selector.model_dump()), body.params, body.dry_run, body.concurrency
    )
    job = service.create_job(
        session, settings=settings, actions=runner.actions, request=req, user=user.username
    )
    runner.wake()
    return _out(session, job)


@router.get("/jobs")
def list_jobs(session: DbSession, _user: Viewer, limit: int = 50) -> list[JobOut]:
    return [_out(session, job) for job in service.list_jobs(session, limit=limit)]


@router.get("/jobs/{job_id}")
def job_detail(job_id: int, session: DbSession, _user: Viewer, status: str | None = None) -> JobDetail:
    job = service.get_job(session, job_id=job_id)
    devices = [
        JobDeviceOut.model_validate(d) for d in service.job_devices(session, job_id=job_id, status=status)
    ]
    return JobDetail(**_out(session, job).model_dump(), devices=devices)


@router.get("/jobs/{job_id}/logs")
def job_logs(
    job_id: int, session: DbSession, _user: Viewer, after: int = 0, limit: int = 500
) -> list[LogLineOut]:
    service.get_job(session, job_id=job_id)
    return [
        LogLineOut.model_validate(r)
        for r in service.logs_after(session, job_id=job_id, after=after, limit=limit)
    ]


@router.post("/jobs/{job_id}/retry", status_code=201)
def retry_job(
    job_id: int, runner: Runner, settings: AppSettings, session: DbSession, user: Operator
) -> JobOut:
    job = service.retry_job(session, settings=settings, job_id=job_id, user=user.username)
    runner.wake()
    return _out(session, job)


@router.post("/jobs/{job_id}/resume")
def resume_job(job_id: int, runner: Runner, session: DbSession, _user: Operator) -> JobOut:
    job = service.resume_job(session, job_id=job_id)
    runner.wake()
    return _out(session, job)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, session: DbSession, _user: Operator) -> JobOut:
    return _out(session, service.cancel_job(session, job_id=job_id))


def _snapshot(
    factory: sessionmaker[Session], job_id: int, after: int
) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    with factory() as session:
        job = service.get_job(session, job_id=job_id)
        lines = service.logs_after(session, job_id=job_id, after=after)
        progress = {"status": job.status, "counts": service.counts(session, job_id=job_id)}
        rows = [LogLineOut.model_validate(r).model_dump(mode="json") for r in lines]
        return progress, rows, job.finished_at is not None


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: int, request: Request, factory: SessionFactory, _user: Viewer, after: int = 0
) -> StreamingResponse:
    """Server-sent events: ``log`` per line, ``progress`` on each tick, ``done`` when the job finished."""
    await run_in_threadpool(_snapshot, factory, job_id, after)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        cursor = after
        while not await request.is_disconnected():
            progress, rows, finished = await run_in_threadpool(_snapshot, factory, job_id, cursor)
            for row in rows:
                cursor = row["id"]
                yield f"event: log\nid: {row['id']}\ndata: {json.dumps(row, ensure_ascii=False)}\n\n"
            yield f"event: progress\ndata: {json.dumps(progress)}\n\n"
            if finished and not rows:
                yield "event: done\ndata: {}\n\n"
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream")
