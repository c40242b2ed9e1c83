"""The dev stack's demo lesson: scheduled through the lessons API, so the lesson dispatcher has the demo STB
probe the live test pattern and the overview lists it, without configuring anything.

Idempotent on one data dir: a demo lesson already live on the same URL for the demo station, with at least
``MIN_LEFT`` to go, is kept (the origin keeps its port across restarts, so the URL stays the same).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from ..settings import Settings

logger = logging.getLogger(__name__)
DEMO_LESSON_TITLE = "演示党课 Demo lesson"
DEMO_TIMEZONE = "Asia/Shanghai"  # the demo station's local time
DEMO_HOURS = 12  # the longest lesson the API takes
MIN_LEFT = timedelta(hours=1)  # an older demo lesson ending sooner is not kept: a new one is scheduled
LESSONS = "/api/v1/lessons"


class Reply(Protocol):
    def raise_for_status(self) -> object: ...

    def json(self, **kwargs: Any) -> Any: ...


class LessonsApi(Protocol):
    """What ensure_demo_lesson calls: an httpx.Client (or FastAPI's TestClient) logged in as an operator."""

    def get(self, url: str) -> Reply: ...

    def post(self, url: str, *, json: Any) -> Reply: ...


def _utc(text: str) -> datetime:
    """An API time; a naive one (SQLite) is UTC."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def current_demo_lesson(
    lessons: Iterable[Mapping[str, Any]], *, url: str, station: str, now: datetime
) -> Mapping[str, Any] | None:
    """The demo lesson (as ``GET /api/v1/lessons`` lists it) live at ``now`` on ``url`` for ``station``."""
    for lesson in lessons:
        same = lesson["title"] == DEMO_LESSON_TITLE and lesson["url"] == url and station in lesson["stations"]
        if same and _utc(lesson["starts_at"]) <= now and now + MIN_LEFT <= _utc(lesson["ends_at"]):
            return lesson
    return None


def demo_lesson_body(*, url: str, station: str, now: datetime) -> dict[str, Any]:
    """A ``POST /api/v1/lessons`` body: from ``now`` (station-local, to the minute) for DEMO_HOURS."""
    start = now.astimezone(ZoneInfo(DEMO_TIMEZONE)).replace(tzinfo=None, second=0, microsecond=0)
    return {
        "title": DEMO_LESSON_TITLE,
        "url": url,
        "starts_local": start.isoformat(),
        "ends_local": (start + timedelta(hours=DEMO_HOURS)).isoformat(),
        "timezone": DEMO_TIMEZONE,
        "stations": [station],
    }


def ensure_demo_lesson(
    api: LessonsApi, *, url: str, station: str, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    """The live demo lesson, scheduled unless one is already live; (lesson, created). ``api``'s base URL is
    the controller's. Raises its HTTP error on a refusal (httpx.HTTPStatusError)."""
    now = now or datetime.now(UTC)
    listed = api.get(LESSONS)
    listed.raise_for_status()
    existing = current_demo_lesson(listed.json(), url=url, station=station, now=now)
    if existing is not None:
        return dict(existing), False
    created = api.post(LESSONS, json=demo_lesson_body(url=url, station=station, now=now))
    created.raise_for_status()
    return dict(created.json()), True


def schedule_demo_lesson(settings: Settings, data_dir: Path, *, url: str, station: str) -> int | None:
    """Log in as the dev stack's admin and ensure the demo lesson; its id, or None (logged) if refused."""
    base = f"http://{settings.http_host}:{settings.http_port}"
    try:
        password = (data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
        with httpx.Client(base_url=base, timeout=10) as api:
            login = api.post("/api/v1/auth/login", json={"username": "admin", "password": password})
            login.raise_for_status()
            api.headers["authorization"] = f"Bearer {login.json()['token']}"
            lesson, created = ensure_demo_lesson(api, url=url, station=station)
    except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
        logger.warning("%s: demo lesson not scheduled (%s); schedule one on /console/lessons/", station, exc)
        return None
    state = "scheduled" if created else "already live"
    logger.info("%s: demo lesson %s %s on %s until %s", station, lesson["id"], state, url, lesson["ends_at"])
    return int(lesson["id"])
