"""What the lesson pages show: registry targets joined with the TSDB figures (live, and the report)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..csv_export import to_csv
from ..registry.models import Device
from ..tsdb.errors import TsdbError
from ..tsdb.query import PromQuery
from . import figures as fig
from .models import Lesson
from .service import lesson_label, list_around, state_of, target_devices, utc

log = logging.getLogger(__name__)
LIVE_WINDOW_S = 120  # a station whose last report is older is no longer watching
CSV_COLUMNS = ("station", "station_name", "region", "device", "watching", "startup_s", "rebuffer_ratio",
               "avg_bitrate_bps", "latency_s", "stall_count", "poor", "cause")  # fmt: skip


def _targets(session: Session, lesson: Lesson) -> tuple[list[dict[str, str]], dict[str, str]]:
    devices = target_devices(session, lesson)
    targets = [
        {"device": d.id, "station": d.station.code, "station_name": d.station.name, "region": d.region_path}
        for d in devices
    ]
    stations = {d.station_id for d in devices}
    routers = {}
    if stations:
        query = select(Device.station_id, Device.id).where(
            Device.station_id.in_(stations), Device.role == "router"
        )
        by_station = {station_id: device_id for station_id, device_id in session.execute(query)}
        routers = {d.id: by_station[d.station_id] for d in devices if d.station_id in by_station}
    return targets, routers


def _local(value: datetime, zone: str) -> str:
    """Station-local wall time, as staff entered it."""
    try:
        return utc(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    except (ZoneInfoNotFoundError, ValueError):
        return utc(value).isoformat()


def _lesson_dict(lesson: Lesson, now: datetime) -> dict[str, Any]:
    return {
        "id": lesson.id,
        "title": lesson.title,
        "url": lesson.url,
        "starts_at": utc(lesson.starts_at).isoformat(),
        "ends_at": utc(lesson.ends_at).isoformat(),
        "timezone": lesson.timezone,
        "starts_local": _local(lesson.starts_at, lesson.timezone),
        "ends_local": _local(lesson.ends_at, lesson.timezone),
        "state": state_of(lesson, now),
        "label": lesson_label(lesson.id),
        "regions": lesson.regions,
        "stations": lesson.stations,
        "tags": lesson.tags,
    }


def live_view(session: Session, tsdb: PromQuery, lesson: Lesson, now: datetime) -> dict[str, Any]:
    """Each target station's latest figures and the per-region roll-up, worst first."""
    targets, _routers = _targets(session, lesson)
    values = fig.latest(tsdb, lesson_label(lesson.id), window_s=LIVE_WINDOW_S)
    rows = fig.station_rows(targets, values)
    return {
        "lesson": _lesson_dict(lesson, now),
        "generated_at": now.isoformat(),
        "targets": len(rows),
        "watching": sum(1 for r in rows if r.watching),
        "stations": [r.to_dict() for r in rows],
        "regions": [r.to_dict() for r in fig.rollup(rows)],
    }


def report_view(session: Session, tsdb: PromQuery, lesson: Lesson, now: datetime) -> dict[str, Any]:
    """Attendance, p50/p95 per figure, poor stations with their likely cause (over the lesson window)."""
    targets, routers = _targets(session, lesson)
    start, end = utc(lesson.starts_at).timestamp(), min(utc(lesson.ends_at).timestamp(), now.timestamp())
    window = max(60, int(end - start) + 60)
    label = lesson_label(lesson.id)
    rows = fig.station_rows(targets, fig.latest(tsdb, label, window_s=window, at=end))
    fig.causes(tsdb, label, rows, routers, start=start, end=end)
    return {
        "lesson": _lesson_dict(lesson, now),
        "generated_at": now.isoformat(),
        "targets": len(rows),
        "attended": sum(1 for r in rows if r.watching),
        "summary": fig.summary(rows),
        "poor": [r.to_dict() for r in rows if r.poor],
        "stations": [r.to_dict() for r in rows],
        "regions": [r.to_dict() for r in fig.rollup(rows)],
    }


def report_csv(report: dict[str, Any]) -> str:
    """Attendance by station (formula-looking cells neutralised by csv_export)."""
    rows = ([("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS] for row in report["stations"])
    return to_csv(CSV_COLUMNS, rows)


def today(session: Session, tsdb: PromQuery, now: datetime) -> list[dict[str, Any]]:
    """The overview's ``lessons_today``: lessons overlapping the last and next 24 h, with their figures."""
    rows = []
    for lesson in list_around(session, now):
        watching: int | None = None
        rebuffer = startup = None
        if state_of(lesson, now) == "live":
            try:
                view = live_view(session, tsdb, lesson, now)
            except TsdbError as exc:  # the landing page still lists the lesson, without figures
                log.warning("lesson %d: no figures for the overview: %s", lesson.id, exc)
                view = {"stations": []}
            watched = [s for s in view["stations"] if s["watching"]]
            watching = len(watched)
            rebuffers = [s["rebuffer_ratio"] for s in watched if s["rebuffer_ratio"] is not None]
            startups = [s["startup_s"] for s in watched if s["startup_s"] is not None]
            rebuffer = max(rebuffers) if rebuffers else None
            startup = fig.percentile(startups, 50)
        rows.append(
            {
                "id": lesson.id,
                "title": lesson.title,
                "starts_at": utc(lesson.starts_at).isoformat(),
                "ends_at": utc(lesson.ends_at).isoformat(),
                "state": state_of(lesson, now),
                "stations": len(target_devices(session, lesson)),
                "watching": watching,
                "rebuffer_ratio": rebuffer,
                "startup_s": startup,
                "url": f"/console/lessons/{lesson.id}",
            }
        )
    return rows
