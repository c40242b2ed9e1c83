"""Console pages for provisioning jobs: start a job over a selection of devices, and watch its
per-device results and log lines live (operators start and retry; CSRF-checked forms)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from ...api.deps import AppSettings, DbSession
from ...errors import InvalidInput
from ...web import ConsoleOperator, ConsoleUser, CsrfToken, page_labels, render
from . import service as jobs
from .deps import Runner

router = APIRouter(prefix="/console/jobs", include_in_schema=False)
REFRESH_S = 3  # a running job's page reloads itself (no inline script under the CSP)
LOG_LINES = 200

LABELS: dict[str, tuple[str, str]] = {
    "jobs": ("开通任务", "Provisioning jobs"),
    "new_job": ("新建任务", "New job"),
    "action": ("操作", "Action"),
    "region": ("区域", "Region"),
    "tag": ("标签", "Tag"),
    "role": ("角色", "Role"),
    "station": ("站点编码", "Station code"),
    "dry_run": ("演练（只显示差异，不做修改）", "Dry run (show the diff, change nothing)"),
    "start": ("开始", "Start"),
    "status": ("状态", "Status"),
    "devices": ("设备", "Devices"),
    "created": ("创建时间", "Created"),
    "by": ("创建人", "By"),
    "device": ("设备", "Device"),
    "reason": ("原因", "Reason"),
    "attempt": ("次数", "Attempt"),
    "log": ("日志", "Log"),
    "retry": ("重试失败设备", "Retry failed devices"),
    "resume": ("继续", "Resume"),
    "none": ("暂无", "None yet"),
}


def labels(request: Request) -> Callable[[str], str]:
    return page_labels(request, LABELS)


@router.get("/")
def jobs_page(
    request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings, runner: Runner
) -> Response:
    listed = jobs.list_jobs(session, limit=50)
    context = {
        "jt": labels(request),
        "jobs": [(job, jobs.counts(session, job_id=job.id)) for job in listed],
        "actions": runner.actions.names(),
    }
    return render(request, "jobs.html", context, settings=settings, user=user)


@router.post("/")
def start_job(
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    runner: Runner,
    action: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    tag: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    station: Annotated[str, Form()] = "",
    dry_run: Annotated[str, Form()] = "",
) -> Response:
    selector = jobs.Selector(
        region=region.strip() or None,
        tags=[tag.strip()] if tag.strip() else [],
        role=role or None,
        station=station.strip() or None,
    )
    job = jobs.create_job(
        session,
        settings=settings,
        actions=runner.actions,
        request=jobs.JobRequest(action, selector, {}, dry_run=bool(dry_run)),
        user=user.username,
    )
    runner.wake()
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)


@router.get("/{job_id}")
def job_page(
    request: Request, job_id: int, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    job = jobs.get_job(session, job_id=job_id)
    log_lines = jobs.logs_after(session, job_id=job_id, after=0, limit=100_000)[-LOG_LINES:]
    context = {
        "jt": labels(request),
        "job": job,
        "counts": jobs.counts(session, job_id=job_id),
        "devices": jobs.job_devices(session, job_id=job_id),
        "log_lines": log_lines,
        "refresh_s": REFRESH_S if job.status == "running" else None,
    }
    return render(request, "job.html", context, settings=settings, user=user)


@router.post("/{job_id}/{op}")
def job_op(
    job_id: int,
    op: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    runner: Runner,
) -> Response:
    if op == "retry":
        job = jobs.retry_job(session, settings=settings, job_id=job_id, user=user.username)
    elif op == "resume":
        job = jobs.resume_job(session, job_id=job_id)
    else:
        raise InvalidInput(f"unknown job operation {op!r}; use retry or resume")
    runner.wake()
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)
