"""``/api/v1/lessons``: schedule a live lesson, its live figures, its report and CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ..api.deps import DbSession
from ..auth.deps import Operator, Viewer
from ..kernel.clock import utcnow
from ..tsdb.routes import TsdbQuery
from . import service, views
from .schemas import LessonCreate, LessonOut

router = APIRouter(tags=["lessons"])


def to_input(body: LessonCreate) -> service.LessonInput:
    return service.LessonInput(
        title=body.title,
        url=body.url,
        starts_local=body.starts_local.replace(tzinfo=None),
        ends_local=body.ends_local.replace(tzinfo=None),
        timezone=body.timezone,
        regions=tuple(body.regions),
        stations=tuple(body.stations),
        tags=tuple(body.tags),
    )


@router.post("/lessons", response_model=LessonOut, status_code=201)
def create_lesson(body: LessonCreate, session: DbSession, user: Operator) -> Any:
    return service.create_lesson(session, data=to_input(body), by=user.username)


@router.get("/lessons", response_model=list[LessonOut])
def list_lessons(session: DbSession, _user: Viewer) -> Any:
    return service.list_lessons(session)


@router.get("/lessons/{lesson_id}/live")
def lesson_live(lesson_id: int, session: DbSession, tsdb: TsdbQuery, _user: Viewer) -> dict[str, Any]:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    return views.live_view(session, tsdb, lesson, utcnow())


@router.get("/lessons/{lesson_id}/report")
def lesson_report(lesson_id: int, session: DbSession, tsdb: TsdbQuery, _user: Viewer) -> dict[str, Any]:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    return views.report_view(session, tsdb, lesson, utcnow())


@router.get("/lessons/{lesson_id}/report.csv")
def lesson_report_csv(lesson_id: int, session: DbSession, tsdb: TsdbQuery, _user: Viewer) -> Response:
    lesson = service.get_lesson(session, lesson_id=lesson_id)
    text = views.report_csv(views.report_view(session, tsdb, lesson, utcnow()))
    headers = {"Content-Disposition": f'attachment; filename="lesson-{lesson_id}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
