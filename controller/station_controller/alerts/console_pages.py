"""Console pages for alerts: firing/resolved by station and region with acknowledge, and maintenance
windows (Alertmanager silences) for a station or region created, listed and ended from the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..web import ConsoleOperator, ConsoleUser, CsrfToken, Flash, render, show_errors_with
from . import service
from .deps import Alertmanager
from .errors import AlertmanagerUnavailable
from .routes import SILENCE_ID

router = APIRouter(prefix="/console/alerts", include_in_schema=False)
SILENCE_PATH = Path(pattern=SILENCE_ID)
LABELS = {
    "alerts": ("告警", "Alerts"),
    "firing": ("告警中", "Firing"),
    "resolved": ("已恢复", "Resolved"),
    "all": ("全部", "All"),
    "alert": ("告警规则", "Alert"),
    "severity": ("级别", "Severity"),
    "summary": ("说明", "Summary"),
    "since": ("开始", "Since"),
    "ended": ("结束", "Ended"),
    "ack": ("确认", "Acknowledge"),
    "acked_by": ("已确认", "Acknowledged by"),
    "filter": ("筛选", "Filter"),
    "none": ("没有告警", "No alerts"),
    "windows": ("维护窗口", "Maintenance windows"),
    "windows_hint": (
        "维护期间该站点或区域的告警不再通知（Alertmanager 静默）",
        "During a window the station's or region's alerts notify nobody (an Alertmanager silence)",
    ),
    "target": ("对象", "Target"),
    "until": ("截止", "Until"),
    "by": ("创建人", "By"),
    "comment": ("备注", "Comment"),
    "hours": ("时长（小时）", "Hours"),
    "station_code": ("站点编号", "Station code"),
    "region_path": ("区域路径", "Region path"),
    "create": ("创建维护窗口", "Create window"),
    "end": ("结束", "End"),
    "no_windows": ("没有维护窗口", "No maintenance windows"),
    "am_down": ("Alertmanager 无法连接：", "Alertmanager unreachable: "),
    "muted": ("维护/抑制中的告警（不通知）", "Muted alerts (maintenance or inhibited, not notified)"),
    "window_created": ("维护窗口已创建", "Maintenance window created"),
}


def _alerts_view(
    request: Request,
    session: DbSession,
    alertmanager: Alertmanager,
    *,
    status: str | None,
    station: str | None,
    region: str | None,
) -> dict[str, object]:
    rows, counts = service.list_alerts(session, status=status, station=station, region=region)
    try:
        windows = [service.window_out(s) for s in alertmanager.silences() if s.state != "expired"]
        muted, am_error = [a for a in alertmanager.alerts() if a.state == "suppressed"], ""
    except AlertmanagerUnavailable as exc:
        windows, muted, am_error = [], [], exc.detail
    return {
        "rows": rows,
        "counts": counts,
        "windows": windows,
        "muted": muted[:200],  # held by Alertmanager under a window or inhibited: notified to nobody
        "am_error": am_error,
        "filters": {"status": status or "", "station": station or "", "region": region or ""},
    }


@router.get("/")
def alerts_page(
    request: Request,
    user: ConsoleUser,
    session: DbSession,
    settings: AppSettings,
    alertmanager: Alertmanager,
    status: Annotated[str | None, Query(pattern="^(firing|resolved)?$")] = None,
    station: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    context = _alerts_view(
        request, session, alertmanager, status=status or None, station=station or None, region=region or None
    )
    return render(request, "alerts.html", context, settings=settings, user=user, labels=LABELS)


@router.post("/{alert_id}/ack")
def acknowledge(alert_id: int, user: ConsoleOperator, _csrf: CsrfToken, session: DbSession) -> Response:
    service.acknowledge(session, alert_id=alert_id, username=user.username)
    return RedirectResponse("/console/alerts/", status_code=303)


@router.post("/maintenance")
def create_window(
    request: Request,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    alertmanager: Alertmanager,
    station: Annotated[str, Form(max_length=64)] = "",
    region: Annotated[str, Form(max_length=512)] = "",
    hours: Annotated[float, Form(gt=0, le=24 * 14)] = 2.0,
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    show_errors_with(
        request,
        lambda exc, fresh: render(
            request,
            "alerts.html",
            _alerts_view(request, fresh, alertmanager, status=None, station=None, region=None),
            settings=settings,
            user=user,
            labels=LABELS,
            status_code=exc.status,
            flash=Flash("error", exc.detail),
        ),
    )
    service.create_maintenance(
        session,
        alertmanager,
        station=station.strip() or None,
        region=region.strip() or None,
        hours=hours,
        username=user.username,
        comment=comment.strip(),
    )
    return RedirectResponse("/console/alerts/", status_code=303)


@router.post("/maintenance/{silence_id}/end")
def end_window(
    silence_id: Annotated[str, SILENCE_PATH],
    _user: ConsoleOperator,
    _csrf: CsrfToken,
    alertmanager: Alertmanager,
) -> Response:
    alertmanager.expire_silence(silence_id)
    return RedirectResponse("/console/alerts/", status_code=303)
