"""Console pages for bringing stations online: register stations (CSV import), start a provisioning job
over a selection of devices, and watch its per-device results and log lines live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..errors import ControllerError, InvalidInput
from ..provisioning.jobs import service as jobs
from ..provisioning.jobs.deps import Runner
from ..registry.csv_import import import_csv
from .render import console_user, error_page, page_labels, render, require_operator_form, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
REFRESH_S = 3  # a running job's page reloads itself (no inline script under the CSP)
MAX_CSV_BYTES = 5 * 1024 * 1024
LOG_LINES = 200

LABELS: dict[str, tuple[str, str]] = {
    "register": ("登记站点", "Register stations"),
    "csv_help": (
        "CSV 列：station_code, station_name, region_path, role, serial, mac, tags（多个标签用 ; 分隔）",
        "CSV columns: station_code, station_name, region_path, role, serial, mac, tags (separated by ;)",
    ),
    "upload": ("导入", "Import"),
    "imported": ("已导入", "Imported"),
    "stations_created": ("新建站点", "Stations created"),
    "tokens_once": (
        "一次性注册令牌只显示这一次，请立即交给安装人员",
        "One-time enrollment tokens are shown only now; hand them to the installers",
    ),
    "line": ("行", "Line"),
    "problems": ("文件有问题，未导入任何内容", "Problems in the file; nothing was imported"),
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


@router.get("/register")
def register_page(request: Request, session: DbSession, settings: AppSettings) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    return render(request, "register.html", {"jt": labels(request)}, settings=settings, user=user)


@router.post("/register")
async def register_csv(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    file: UploadFile,
    token: Annotated[str, Form(alias="csrf")] = "",
) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    context: dict[str, Any] = {"jt": labels(request)}
    try:
        require_operator_form(request, user, token, settings=settings)
        data = await file.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise InvalidInput(f"the file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB; split it")
        context["result"] = import_csv(session, settings=settings, data=data)
    except InvalidInput as exc:
        context["problems"] = exc.extra.get("errors") or [{"line": "-", "error": exc.detail}]
    except ControllerError as exc:
        return error_page(request, exc, settings=settings, user=user)
    return render(request, "register.html", context, settings=settings, user=user)


@router.get("/jobs/")
def jobs_page(request: Request, session: DbSession, settings: AppSettings, runner: Runner) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    listed = jobs.list_jobs(session, limit=50)
    context = {
        "jt": labels(request),
        "jobs": [(job, jobs.counts(session, job_id=job.id)) for job in listed],
        "actions": runner.actions.names(),
    }
    return render(request, "jobs.html", context, settings=settings, user=user)


@router.post("/jobs/")
def start_job(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    runner: Runner,
    action: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    tag: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    station: Annotated[str, Form()] = "",
    dry_run: Annotated[str, Form()] = "",
    token: Annotated[str, Form(alias="csrf")] = "",
) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    try:
        require_operator_form(request, user, token, settings=settings)
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
    except ControllerError as exc:
        return error_page(request, exc, settings=settings, user=user)
    runner.wake()
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, session: DbSession, settings: AppSettings) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    try:
        job = jobs.get_job(session, job_id=job_id)
    except ControllerError as exc:
        return error_page(request, exc, settings=settings, user=user)
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


@router.post("/jobs/{job_id}/{op}")
def job_op(
    request: Request,
    job_id: int,
    op: str,
    session: DbSession,
    settings: AppSettings,
    runner: Runner,
    token: Annotated[str, Form(alias="csrf")] = "",
) -> Response:
    user = console_user(request, session)
    if user is None:
        return to_login(request)
    try:
        require_operator_form(request, user, token, settings=settings)
        if op == "retry":
            job = jobs.retry_job(session, settings=settings, job_id=job_id, user=user.username)
        elif op == "resume":
            job = jobs.resume_job(session, job_id=job_id)
        else:
            raise InvalidInput(f"unknown job operation {op!r}; use retry or resume")
    except ControllerError as exc:
        return error_page(request, exc, settings=settings, user=user)
    runner.wake()
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)
