"""Live lessons and stream quality: scheduling, the STBs' probes, live and report pages, the QoE series."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..plugins import Feature, FeatureContext, Mount, NavLink
from ..settings import Settings, get_settings
from ..tsdb.influx import InfluxLineSink
from ..tsdb.query import VictoriaQuery
from . import console_pages, routes, views
from .background import LessonDispatcher
from .qoe_points import QoePoints


def _tsdb_sink() -> InfluxLineSink:
    s = get_settings()
    return InfluxLineSink(
        url=s.tsdb_url,
        token=s.tsdb_token.get_secret_value(),
        org=s.tsdb_org,
        bucket=s.tsdb_bucket,
        timeout_s=s.tsdb_timeout_s,
    )


def _lessons_today(settings: Settings) -> Callable[[Session, datetime], list[dict[str, Any]]]:
    tsdb = VictoriaQuery(settings.tsdb_query_url, timeout_s=settings.tsdb_timeout_s)
    return lambda session, now: views.today(session, tsdb, now)


def _services(ctx: FeatureContext) -> Mapping[str, Any]:
    return {"lessons_today": _lessons_today(ctx.settings)}  # read by the overview page


FEATURE = Feature(
    name="lessons",
    order=80,
    api_routers=(routes.router,),
    routers=(Mount(console_pages.router, priority=40),),
    nav=(NavLink("/console/lessons/", "直播课程", "Live lessons", order=30),),
    template_dirs=(Path(__file__).parent / "templates",),
    event_handlers=lambda factory, payloads: [QoePoints(_tsdb_sink)],
    background=lambda ctx: [LessonDispatcher(ctx.session_factory, ctx.settings, ctx.publisher)],
    services=_services,
)
