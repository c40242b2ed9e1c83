"""The overview page (/console/overview/, the console's landing page) and its live JSON (polled)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..api.deps import AppSettings, DbSession, optional_service
from ..web import ConsoleUser, render
from . import service

router = APIRouter(prefix="/console/overview", include_in_schema=False)
STATIC = {
    "overview.js": (Path(__file__).parent / "static" / "overview.js", "text/javascript"),
    "overview.css": (Path(__file__).parent / "static" / "overview.css", "text/css"),
}
POLL_MS = 5000
LESSONS_SERVICE = "lessons_today"
LABELS = {
    "overview": ("总览", "Overview"),
    "devices_online": ("在线设备", "Devices online"),
    "devices_offline": ("离线设备", "Devices offline"),
    "by_region": ("各地区在线情况", "Online by region"),
    "firing": ("当前告警", "Firing alerts"),
    "no_alerts": ("没有告警", "No firing alerts"),
    "lessons": ("今日课程", "Today's lessons"),
    "no_lessons": ("今日没有课程", "No lessons today"),
    "lessons_missing": ("课程功能未安装", "The lessons feature is not installed"),
    "watching": ("收看站点", "Stations watching"),
    "rebuffer": ("卡顿率", "Rebuffering"),
    "startup": ("起播时间", "Startup"),
    "campaigns": ("进行中的下发", "Running campaigns"),
    "jobs": ("进行中的任务", "Running jobs"),
    "none": ("无", "None"),
    "portal_online": ("WiFi 在线用户", "Portal users online"),
    "updated": ("更新于", "Updated"),
    "stale": ("数据未更新", "Not updating"),
    "all_alerts": ("全部告警", "All alerts"),
    "ack": ("已确认", "acknowledged"),
    "scheduled": ("未开始", "scheduled"),
    "live": ("直播中", "live"),
    "ended": ("已结束", "ended"),
}


def _lessons(request: Request) -> service.LessonsToday | None:
    found = optional_service(request, LESSONS_SERVICE)
    return found if callable(found) else None


@router.get("/")
def overview_page(request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings) -> Response:
    data = service.overview(session, lessons_today=_lessons(request))
    context = {"o": data, "poll_ms": POLL_MS}
    return render(request, "overview.html", context, settings=settings, user=user, labels=LABELS)


@router.get("/data.json")
def overview_data(request: Request, _user: ConsoleUser, session: DbSession) -> JSONResponse:
    data = service.overview(session, lessons_today=_lessons(request))
    return JSONResponse(data.to_dict(), headers={"Cache-Control": "no-store"})


@router.get("/{name}", name="overview_static")
def overview_static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    path, media = STATIC[name]
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(path.read_bytes(), media_type=f"{media}; charset=utf-8", headers=headers)
