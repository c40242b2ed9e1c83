"""Console pages for router configs: which router runs which revision, drift, backups and their diffs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...api.deps import AppSettings, DbSession
from ...errors import PermissionDenied
from ...registry.service import get_device
from ...web import ConsoleOperator, ConsoleUser, CsrfToken, page_labels, render
from ..jobs.deps import Runner
from ..jobs.models import Job, JobDevice
from ..jobs.service import JobRequest, Selector, create_job
from . import backups, state
from .render import latest_seq

router = APIRouter(prefix="/console/configs", include_in_schema=False)
PER_PAGE = 100
# What an operator may start from a router's page: (action, dry run).
BUTTONS = {
    "drift": ("config.drift", False),
    "backup": ("config.backup", False),
    "preview": ("config.push", True),
    "push": ("config.push", False),
    "rollback": ("config.rollback", False),
}
RUNNING = ("queued", "running")

# key → (zh-CN, English); kept here so the shared label table stays small.
LABELS: dict[str, tuple[str, str]] = {
    "configs": ("路由器配置", "Router configs"),
    "newest": ("最新版本", "Newest revision"),
    "applied": ("已应用版本", "Applied revision"),
    "state": ("状态", "State"),
    "profile": ("设备类型", "Device type"),
    "checked": ("最近检查", "Last checked"),
    "detail": ("说明", "Detail"),
    "backups": ("配置备份", "Backups"),
    "taken": ("时间", "Taken"),
    "reason": ("原因", "Reason"),
    "good": ("可回滚", "Good"),
    "diff": ("与上一份的差异", "Diff against the previous backup"),
    "content": ("配置内容", "Content"),
    "none": ("暂无路由器", "No routers with an SSH target and a profile"),
    "st_unmanaged": ("未纳管", "unmanaged"),
    "st_baseline": ("已导入基线", "baseline"),
    "st_applied": ("已应用", "applied"),
    "st_pending": ("待下发", "pending"),
    "st_drifted": ("已漂移", "drifted"),
    "st_failed": ("失败已回滚", "failed"),
    "st_render_error": ("模板错误", "template error"),
    "all": ("全部", "all"),
    "jobs": ("最近的任务", "Recent jobs"),
    "job": ("任务", "Job"),
    "result": ("结果", "Result"),
    "btn_drift": ("检查漂移", "Check drift"),
    "btn_backup": ("立即备份", "Back up now"),
    "btn_preview": ("预览下发（不改动）", "Preview push (dry run)"),
    "btn_push": ("下发最新版本", "Push newest revision"),
    "btn_rollback": ("回滚到上一个可用备份", "Roll back to the last good backup"),
    "job_started": ("任务已开始", "Job started"),
}


def labels(request: Request) -> Callable[[str], str]:
    return page_labels(request, LABELS)


@router.get("/")
def fleet_page(
    request: Request,
    user: ConsoleUser,
    session: DbSession,
    settings: AppSettings,
    only: str = "",
    page: int = 1,
) -> Response:
    page = max(page, 1)
    fleet = state.fleet_view(
        session, settings=settings, only=only, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    context = {
        "ct": labels(request),
        "summary": fleet.summary,
        "routers": fleet.routers,
        "only": only,
        "page": page,
        "pages": max(1, -(-fleet.total // PER_PAGE)),
        "newest": latest_seq(session),
    }
    return render(request, "configs.html", context, settings=settings, user=user)


def recent_jobs(session: Session, *, device_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """This router's latest config job results (newest first), for the page's live progress."""
    rows = session.execute(
        select(
            Job.id,
            Job.action,
            Job.dry_run,
            Job.created_at,
            JobDevice.status,
            JobDevice.reason,
            JobDevice.diff,
        )
        .join(JobDevice, JobDevice.job_id == Job.id)
        .where(JobDevice.device_id == device_id, Job.action.like("config.%"))
        .order_by(Job.id.desc())
        .limit(limit)
    ).all()
    names = ("id", "action", "dry_run", "created_at", "status", "reason", "diff")
    return [dict(zip(names, row, strict=True)) for row in rows]


@router.get("/routers/{device_id}")
def router_page(
    request: Request, device_id: str, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    get_device(session, device_id=device_id)
    history = backups.list_backups(session, device_id=device_id, limit=100)
    row = state.get_state(session, device_id=device_id)
    jobs = recent_jobs(session, device_id=device_id)
    context = {
        "ct": labels(request),
        "device_id": device_id,
        "state": row,
        "backups": history,
        "jobs": jobs,
        "buttons": list(BUTTONS),
    }
    response = render(request, "config_router.html", context, settings=settings, user=user)
    if any(job["status"] in RUNNING for job in jobs):
        response.headers["Refresh"] = "2"  # live progress without inline script (the CSP forbids it)
    return response


@router.post("/routers/{device_id}/run")
def run_job(
    device_id: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    runner: Runner,
    button: Annotated[str, Form()] = "",
) -> Response:
    """Start one config job on this router (operators), then show the page that follows its progress."""
    if button not in BUTTONS:
        raise PermissionDenied(f"unknown config job {button!r}; use one of the page's buttons")
    action, dry_run = BUTTONS[button]
    job_request = JobRequest(action=action, selector=Selector(device_ids=[device_id]), dry_run=dry_run)
    create_job(session, settings=settings, actions=runner.actions, request=job_request, user=user.username)
    runner.wake()
    return RedirectResponse(f"/console/configs/routers/{device_id}", status_code=303)


@router.get("/backups/{backup_id}")
def backup_page(
    request: Request, backup_id: int, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    backup = backups.get_backup(session, backup_id=backup_id)
    diff = backups.backup_diff(session, backup_id=backup_id)
    context = {"ct": labels(request), "backup": backup, "diff_lines": diff.splitlines()}
    return render(request, "config_backup.html", context, settings=settings, user=user)
