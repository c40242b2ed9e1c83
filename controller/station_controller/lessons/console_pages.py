"""Console pages: lessons (list + schedule form), a live lesson (polled), the report and its CSV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ..api.deps import AppSettings, DbSession
from ..errors import InvalidInput
from ..kernel.clock import utcnow
from ..tsdb.routes import TsdbQuery
from ..web import ConsoleOperator, ConsoleUser, CsrfToken, Flash, render, show_errors_with
from . import service, views

router = APIRouter(prefix="/console/lessons", include_in_schema=False)
POLL_MS = 5000
STATIC = {
    "lesson.js": (Path(__file__).parent / "static" / "lesson.js", "text/javascript"),
    "lesson.css": (Path(__file__).parent / "static" / "lesson.css", "text/css"),
}
LABELS = {
    "lessons": ("直播课程", "Live lessons"),
    "schedule": ("安排课程", "Schedule a lesson"),
    "title": ("标题", "Title"),
    "hls_url": ("HLS 地址", "HLS URL"),
    "starts": ("开始（站点本地时间）", "Start (station-local)"),
    "ends": ("结束（站点本地时间）", "End (station-local)"),
    "timezone": ("时区", "Time zone"),
    "regions": ("地区（每行一个）", "Regions (one per line)"),
    "stations_codes": ("站点编码（逗号分隔）", "Station codes (comma-separated)"),
    "tags": ("标签（逗号分隔）", "Tags (comma-separated)"),
    "state": ("状态", "State"),
    "watching": ("收看站点", "Watching"),
    "targets": ("目标站点", "Targets"),
    "startup": ("起播时间", "Startup"),
    "rebuffer": ("卡顿率", "Rebuffering"),
    "bitrate": ("码率", "Bitrate"),
    "latency": ("直播延迟", "Latency"),
    "by_region": ("各地区（最差在前）", "By region (worst first)"),
    "report": ("课程报告", "Report"),
    "csv": ("下载 CSV", "Download CSV"),
    "attended": ("到课站点", "Attended"),
    "poor": ("质量差的站点", "Poor stations"),
    "cause": ("可能原因", "Likely cause"),
    "p50": ("中位数", "p50"),
    "p95": ("95 分位", "p95"),
    "none_yet": ("暂无数据", "No data yet"),
    "scheduled": ("未开始", "scheduled"),
    "live": ("直播中", "live"),
    "ended": ("已结束", "ended"),
}


def _lines(text: str, sep: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace("\n", sep).split(sep) if part.strip())


def _when(text: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: a date and time like 2026-12-03T09:00") from None


@router.get("/")
def lessons_page(request: Request, user: ConsoleUser, session: DbSession, settings: AppSettings) -> Response:
    now = utcnow()
    rows = [(lesson, service.state_of(lesson, now)) for lesson in service.list_lessons(session)]
    return render(request, "lessons.html", {"rows": rows}, settings=settings, user=user, labels=LABELS)


@router.post("/")
def schedule(
    request: Request,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    title: Annotated[str, Form()],
    url: Annotated[str, Form()],
    starts_local: Annotated[str, Form()],
    ends_local: Annotated[str, Form()],
    timezone: Annotated[str, Form()] = "Asia/Shanghai",
    regions: Annotated[str, Form()] = "",
    stations: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> Response:
    def again(exc: Any, fresh: Any) -> Response:
        now = utcnow()
        rows = [(lesson, service.state_of(lesson, now)) for lesson in service.list_lessons(fresh)]
        flash = Flash("error", exc.detail)
        ctx = {"rows": rows}
        return render(
            request,
            "lessons.html",
            ctx,
            settings=settings,
            user=user,
            status_code=exc.status,
            flash=flash,
            labels=LABELS,
        )

    show_errors_with(request, again)
    data = service.LessonInput(
        title=title,
        url=url.strip(),
        starts_local=_when(starts_local, "start"),
        ends_local=_when(ends_local, "end"),
        timezone=timezone.strip() or "Asia/Shanghai",
        regions=_lines(regions, "\n"),
        stations=_lines(stations, ","),
        tags=_lines(tags, ","),
    )
    lesson = service.create_lesson(session, data=data, by=user.username)
    return RedirectResponse(f"/console/lessons/{lesson.id}", status_code=303)


@router.get("/static/{name}", name="lessons_static")
def lessons_static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    path, media = STATIC[name]
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(path.read_bytes(), media_type=f"{media}; charset=utf-8", headers=headers)


@router.get("/{lesson_id}")
def lesson_page(
    request: Request,
    lesson_id: int,
    user: ConsoleUser,
    session: DbSession,
    settings: AppSettings,
    tsdb: TsdbQuery,
) -> Response:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    view = views.live_view(session, tsdb, lesson, utcnow())
    ctx = {"v": view, "poll_ms": POLL_MS}
    return render(request, "lesson.html", ctx, settings=settings, user=user, labels=LABELS)


@router.get("/{lesson_id}/live.json")
def lesson_live(lesson_id: int, _user: ConsoleUser, session: DbSession, tsdb: TsdbQuery) -> JSONResponse:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    return JSONResponse(
        views.live_view(session, tsdb, lesson, utcnow()), headers={"Cache-Control": "no-store"}
    )


@router.get("/{lesson_id}/report")
def report_page(
    request: Request,
    lesson_id: int,
    user: ConsoleUser,
    session: DbSession,
    settings: AppSettings,
    tsdb: TsdbQuery,
) -> Response:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    report = views.report_view(session, tsdb, lesson, utcnow())
    return render(request, "lesson_report.html", {"r": report}, settings=settings, user=user, labels=LABELS)


@router.get("/{lesson_id}/report.csv")
def report_csv(lesson_id: int, _user: ConsoleUser, session: DbSession, tsdb: TsdbQuery) -> Response:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    text = views.report_csv(views.report_view(session, tsdb, lesson, utcnow()))
    headers = {"Content-Disposition": f'attachment; filename="lesson-{lesson_id}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
