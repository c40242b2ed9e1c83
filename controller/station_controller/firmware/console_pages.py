"""Console pages for firmware: releases, version distribution per region, stuck devices, a form that starts
a firmware campaign, one campaign's live per-device progress, and one device's versions and history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..campaigns import service as campaigns
from ..campaigns.deps import Payloads
from ..campaigns.schemas import CampaignCreate, ScheduleSpec, TargetSpec, ThresholdSpec, WaveSpec
from ..errors import InvalidInput
from ..web import ConsoleOperator, ConsoleUser, CsrfToken, fmt_bytes, page_labels, render
from ..web.templating import fmt_time
from . import devices, service, stuck

router = APIRouter(prefix="/console/firmware", include_in_schema=False)
REFRESH_S = 5  # a running campaign's page reloads itself (no inline script under the CSP)

LABELS: dict[str, tuple[str, str]] = {
    "firmware": ("固件升级", "Firmware"),
    "releases": ("发布版本", "Releases"),
    "release": ("版本", "Release"),
    "kind": ("类型", "Kind"),
    "version": ("版本号", "Version"),
    "state": ("状态", "State"),
    "key": ("签名密钥", "Key"),
    "expires": ("过期时间", "Expires"),
    "size": ("大小", "Size"),
    "retire": ("停用", "Retire"),
    "rollback_of": ("回退自", "Rollback of"),
    "distribution": ("各区域版本分布", "Versions per region"),
    "agent": ("代理程序", "Agent"),
    "os": ("操作系统", "OS"),
    "campaigns": ("固件升级任务", "Firmware campaigns"),
    "new_campaign": ("新建升级任务", "New firmware campaign"),
    "name": ("名称", "Name"),
    "target_region": ("目标区域", "Target region"),
    "target_stations": ("目标站点(逗号分隔)", "Target stations (comma separated)"),
    "canary": ("金丝雀站点(逗号分隔)", "Canary stations (comma separated)"),
    "percentages": ("批次百分比", "Wave percentages"),
    "window": ("升级时间窗口", "Update window"),
    "all_day": ("全天", "all day"),
    "start_campaign": ("创建并开始", "Create and start"),
    "stuck": ("卡住的设备", "Stuck devices"),
    "since": ("开始于", "Since"),
    "devices": ("设备", "Devices"),
    "slot": ("分区", "Slot"),
    "agent_version": ("代理版本", "Agent version"),
    "os_version": ("系统版本", "OS version"),
    "last_update": ("上次升级", "Last update"),
    "reason": ("原因", "Reason"),
    "detail": ("详情", "Detail"),
    "history": ("升级历史", "Update history"),
    "at": ("时间", "At"),
    "progress": ("进度", "Progress"),
    "wave": ("批次", "Wave"),
    "campaign_state": ("任务状态", "Campaign state"),
    "pause": ("暂停", "Pause"),
    "resume": ("继续", "Resume"),
    "cancel": ("取消任务", "Cancel"),
    "none": ("暂无", "None"),
}
# Device states in the order an update moves through them (labels of the per-device progress).
STATE_LABELS: dict[str, tuple[str, str]] = {
    "fs_pending": ("等待", "pending"),
    "fs_starting": ("启动中", "starting"),
    "fs_retry_wait": ("等待重试", "retry wait"),
    "fs_queued": ("排队", "queued"),
    "fs_downloading": ("下载中", "downloading"),
    "fs_installing": ("安装中", "installing"),
    "fs_restarting": ("重启中", "restarting"),
    "fs_health_check": ("健康检查", "health check"),
    "fs_committed": ("已提交", "committed"),
    "fs_rolled_back": ("已回退", "rolled back"),
    "fs_refused": ("已拒绝", "refused"),
    "fs_failed": ("失败", "failed"),
    "fs_succeeded": ("成功", "succeeded"),
    "fs_cancelled": ("已取消", "cancelled"),
    "fs_skipped": ("已跳过", "skipped"),
    "fs_stuck": ("卡住", "stuck"),
}


def labels(request: Request) -> Callable[[str], str]:
    return page_labels(request, {**LABELS, **STATE_LABELS})


def ms_time(ms: int) -> str:
    return fmt_time(datetime.fromtimestamp(ms / 1000, tz=UTC))


@router.get("/")
def firmware_page(request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings) -> Response:
    context = {
        "ft": labels(request),
        "releases": service.list_releases(session, settings=settings),
        "agent_dist": devices.version_distribution(session, kind="agent"),
        "os_dist": devices.version_distribution(session, kind="os"),
        "campaigns": devices.firmware_campaigns(session),
        "stuck": stuck.list_stuck(session, limit=100),
        "devices": devices.list_device_firmware(session, limit=200),
        "fmt_bytes": fmt_bytes,
        "ms_time": ms_time,
    }
    return render(request, "firmware.html", context, settings=settings, user=user)


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.replace("\n", ",").split(",") if code.strip()]


def _percentages(text: str) -> list[float]:
    try:
        return [float(p) for p in _codes(text)] or [100.0]
    except ValueError:
        raise InvalidInput("wave percentages: numbers separated by commas, e.g. 10, 50, 100") from None


@router.post("/campaigns")
def create_campaign(
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    payloads: Payloads,
    name: Annotated[str, Form()],
    release_id: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    stations: Annotated[str, Form()] = "",
    canary: Annotated[str, Form()] = "",
    percentages: Annotated[str, Form()] = "100",
    window_start: Annotated[str, Form()] = "",
    window_end: Annotated[str, Form()] = "",
) -> Response:
    """Create the campaign and start it at once (operators); the engine runs canary, waves, thresholds."""
    spec = CampaignCreate(
        name=name.strip(),
        payload_kind="firmware",
        payload={"release_id": release_id},
        target=TargetSpec(regions=_codes(region), stations=_codes(stations)),
        schedule=ScheduleSpec(window_start=window_start or None, window_end=window_end or None),
        waves=WaveSpec(canary=_codes(canary), percentages=_percentages(percentages)),
        thresholds=ThresholdSpec(min_sample=1, error_pct=0.0),
    )
    campaign = campaigns.create_campaign(session, payloads=payloads, spec=spec, created_by=user.username)
    campaigns.start_campaign(session, payloads=payloads, campaign_id=campaign.id)
    return RedirectResponse(f"/console/firmware/campaigns/{campaign.id}", status_code=303)


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    request: Request, campaign_id: int, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    campaign = campaigns.get_campaign(session, campaign_id=campaign_id)
    counts, rows = devices.campaign_device_progress(session, campaign_id=campaign_id)
    context = {
        "ft": labels(request),
        "c": campaign,
        "counts": counts,
        "rows": rows,
        "fmt_bytes": fmt_bytes,
        "refresh_s": REFRESH_S if campaign.state in ("running", "paused") else None,
    }
    return render(request, "firmware_campaign.html", context, settings=settings, user=user)


@router.get("/devices/{device_id}")
def device_page(
    request: Request, device_id: str, user: ConsoleUser, session: DbSession, settings: AppSettings
) -> Response:
    context = {
        "ft": labels(request),
        "d": devices.device_firmware(session, device_id=device_id),
        "history": devices.device_history(session, device_id=device_id),
    }
    return render(request, "firmware_device.html", context, settings=settings, user=user)


@router.post("/releases/{release_id}/retire")
def retire_release(
    release_id: str, _user: ConsoleOperator, _csrf: CsrfToken, session: DbSession, settings: AppSettings
) -> Response:
    service.retire_release(session, settings=settings, release_id=release_id)
    return RedirectResponse("/console/firmware/", status_code=303)
