"""Console pages for campaigns: the list, and one campaign's live progress per wave and region with its
failures, ETA and pause / resume / cancel buttons (operators; CSRF-checked forms)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..errors import PermissionDenied
from ..web import ConsoleOperator, ConsoleUser, CsrfToken, fmt_bytes, page_labels, render
from . import service
from .deps import Payloads
from .progress import campaign_progress

router = APIRouter(prefix="/console/campaigns", include_in_schema=False)
REFRESH_S = 10  # pages of running campaigns reload themselves (no inline script under the CSP)

# key → (zh-CN, English); kept here so the shared label table stays small.
LABELS: dict[str, tuple[str, str]] = {
    "campaigns": ("内容下发任务", "Campaigns"),
    "name": ("名称", "Name"),
    "payload": ("内容", "Payload"),
    "state": ("状态", "State"),
    "wave": ("批次", "Wave"),
    "waves": ("各批次进度", "Progress per wave"),
    "regions": ("各区域进度", "Progress per region"),
    "failures": ("失败原因", "Failures by reason"),
    "progress": ("进度", "Progress"),
    "done": ("完成", "Done"),
    "ok": ("成功", "Succeeded"),
    "failed": ("失败", "Failed"),
    "running": ("下载中", "Running"),
    "waiting": ("等待", "Waiting"),
    "bytes": ("已传输", "Bytes"),
    "rate": ("速率", "Rate"),
    "eta": ("预计剩余", "ETA"),
    "reason": ("原因", "Reason"),
    "created": ("创建时间", "Created"),
    "devices_failed": ("失败设备", "Failed devices"),
    "error": ("错误", "Error"),
    "attempts": ("尝试次数", "Attempts"),
    "pause": ("暂停", "Pause"),
    "resume": ("继续", "Resume"),
    "start": ("开始", "Start"),
    "cancel": ("取消任务", "Cancel"),
    "none": (
        "暂无任务，用 stationctl rollout create 创建",
        "No campaigns yet; create one with stationctl rollout create",
    ),
    "st_draft": ("草稿", "draft"),
    "st_running": ("进行中", "running"),
    "st_paused": ("已暂停", "paused"),
    "st_finished": ("已完成", "finished"),
    "st_cancelled": ("已取消", "cancelled"),
    "st_aborted": ("已中止", "aborted"),
}
ACTIONS = ("start", "pause", "resume", "cancel")


def labels(request: Request) -> Callable[[str], str]:
    return page_labels(request, LABELS)


@router.get("/")
def campaign_list(request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings) -> Response:
    campaigns = service.list_campaigns(session)
    context = {"ct": labels(request), "campaigns": campaigns, "fmt_bytes": fmt_bytes}
    return render(request, "campaigns.html", context, settings=settings, user=user)


@router.get("/{campaign_id}")
def campaign_page(
    request: Request, campaign_id: int, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    progress = campaign_progress(session, campaign_id=campaign_id)
    failed, _total = service.list_devices(
        session, campaign_id=campaign_id, state="failed", wave=None, limit=50, offset=0
    )
    context = {
        "ct": labels(request),
        "p": progress,
        "failed": failed,
        "fmt_bytes": fmt_bytes,
        "refresh_s": REFRESH_S if progress.campaign.state in ("running", "paused") else None,
    }
    return render(request, "campaign.html", context, settings=settings, user=user)


@router.post("/{campaign_id}/{action}")
def campaign_action(
    campaign_id: int,
    action: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    payloads: Payloads,
) -> Response:
    if action not in ACTIONS:
        raise PermissionDenied("operators may start, pause, resume or cancel campaigns")
    if action == "start":
        service.start_campaign(session, payloads=payloads, campaign_id=campaign_id)
    elif action == "pause":
        service.pause_campaign(session, campaign_id=campaign_id, reason=f"paused by {user.username}")
    elif action == "resume":
        service.resume_campaign(session, campaign_id=campaign_id)
    else:
        service.cancel_campaign(session, campaign_id=campaign_id, user=user.username)
    return RedirectResponse(f"/console/campaigns/{campaign_id}", status_code=303)
