"""Console page for the free-WiFi portal: hotspots, live sessions (kick / extend), voucher batches and
login statistics per station and day. Forms are for operators and CSRF-checked, like every console form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..auth.service import role_allows
from ..commands.deps import Publisher
from ..kernel.clock import utcnow
from ..web import ConsoleOperator, ConsoleUser, CsrfToken, fmt_bytes, page_labels, render
from . import hotspots, records, service, vouchers

router = APIRouter(prefix="/console/portal", include_in_schema=False)
STATS_DAYS = 7
EXTEND_CHOICES_H = (1, 4, 24)

LABELS: dict[str, tuple[str, str]] = {
    "portal": ("免费WiFi", "Free WiFi"),
    "hotspots": ("热点", "Hotspots"),
    "router": ("路由器", "Router"),
    "station": ("站点", "Station"),
    "enabled": ("已启用", "Enabled"),
    "disabled": ("未启用", "Disabled"),
    "online": ("在线", "Online"),
    "sessions": ("在线用户", "Live sessions"),
    "user": ("用户", "User"),
    "mac": ("MAC", "MAC"),
    "ip": ("IP", "IP"),
    "started": ("开始", "Started"),
    "expires": ("到期", "Expires"),
    "traffic": ("流量 上/下", "Traffic up/down"),
    "rate": ("限速 上/下", "Rate up/down"),
    "kick": ("踢下线", "Kick"),
    "extend": ("延长", "Extend"),
    "hours": ("小时", "h"),
    "vouchers": ("上网券", "Vouchers"),
    "new_batch": ("新建一批", "New batch"),
    "count": ("数量", "Count"),
    "duration_h": ("时长（小时）", "Duration (hours)"),
    "devices": ("每券设备数", "Devices per voucher"),
    "note": ("备注", "Note"),
    "create": ("创建", "Create"),
    "print": ("打印", "Print"),
    "created": ("创建时间", "Created"),
    "stats": ("登录统计（近7天）", "Logins (last 7 days)"),
    "day": ("日期", "Day"),
    "logins": ("登录次数", "Logins"),
    "users": ("用户数", "Users"),
    "bytes": ("流量", "Traffic"),
    "export": ("导出登录记录 CSV（审计）", "Export login records as CSV (auditors)"),
    "none": ("暂无", "None yet"),
}


def labels(request: Request) -> Callable[[str], str]:
    return page_labels(request, LABELS)


def masked(phone: str | None) -> str:
    """Phone numbers are personal data: the console shows 138****8000."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


@router.get("/")
def portal_page(request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings) -> Response:
    live, live_total = service.list_sessions(
        session, status="active", gateway=None, mac=None, phone=None, limit=200, offset=0
    )
    now = utcnow()
    context = {
        "pt": labels(request),
        "hotspots": hotspots.list_hotspots(session),
        "live": live,
        "live_total": live_total,
        "batches": vouchers.list_batches(session),
        "stats": records.login_stats(session, start=now - timedelta(days=STATS_DAYS), end=now, station=None),
        "masked": masked,
        "fmt_bytes": fmt_bytes,
        "extend_choices": EXTEND_CHOICES_H,
        "can_export": role_allows(user.role, "admin") or user.role == "auditor",
    }
    return render(request, "portal.html", context, settings=settings, user=user)


@router.post("/sessions/{session_id}/kick")
def kick(
    session_id: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
) -> Response:
    service.kick(session, settings=settings, publisher=publisher, session_id=session_id, by=user.username)
    return RedirectResponse("/console/portal/", status_code=303)


@router.post("/sessions/{session_id}/extend")
def extend(
    session_id: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    hours: Annotated[int, Form()] = 1,
) -> Response:
    service.extend(
        session,
        settings=settings,
        publisher=publisher,
        session_id=session_id,
        add_s=max(1, min(hours, 24)) * 3600,
        quota_bytes=None,
        by=user.username,
    )
    return RedirectResponse("/console/portal/", status_code=303)


@router.post("/vouchers")
def create_batch(
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    count: Annotated[int, Form()] = 10,
    duration_h: Annotated[int, Form()] = 24,
    devices: Annotated[int, Form()] = 1,
    note: Annotated[str, Form()] = "",
) -> Response:
    spec = vouchers.BatchSpec(
        count=count,
        max_devices=devices,
        duration_s=duration_h * 3600,
        up_kbps=None,
        down_kbps=None,
        quota_bytes=0,
        note=note[:200],
    )
    batch = vouchers.create_batch(session, spec=spec, created_by=user.username)
    return RedirectResponse(f"/api/v1/portal/voucher-batches/{batch.id}/print", status_code=303)
