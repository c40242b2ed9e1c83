"""Lesson use cases: schedule in station-local time, find the target STBs, have them probe in the window."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..commands import outbox
from ..commands.service import queue_command
from ..errors import ControllerError, InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..registry.models import Device, Station, Tag
from ..settings import Settings
from .models import Lesson, LessonTarget

log = logging.getLogger(__name__)
PROBE = "stream.probe"
MAX_TARGETS = 20_000
MAX_LESSON = timedelta(hours=12)
EARLY = timedelta(minutes=2)  # STBs start probing a little before the start: startup is measured


@dataclass(frozen=True)
class LessonInput:
    title: str
    url: str
    starts_local: datetime  # naive, in ``timezone``
    ends_local: datetime
    timezone: str = "Asia/Shanghai"
    regions: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def lesson_label(lesson_id: int) -> str:
    """The ``lesson`` label the STBs report under (stream.probe ``lesson``)."""
    return f"lesson-{lesson_id}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone {name[:64]!r} is not an IANA zone (e.g. Asia/Shanghai)") from None


def _check(data: LessonInput) -> tuple[datetime, datetime]:
    if not data.title.strip() or len(data.title) > 200:
        raise InvalidInput("title: 1..200 characters")
    if not data.url.startswith(("http://", "https://")) or len(data.url) > 2048:
        raise InvalidInput("url: an http(s) URL of an HLS playlist, at most 2048 characters")
    if not (data.regions or data.stations or data.tags):
        raise InvalidInput("targets: give at least one region, station or tag")
    zone = _zone(data.timezone)
    starts = data.starts_local.replace(tzinfo=zone).astimezone(UTC)
    ends = data.ends_local.replace(tzinfo=zone).astimezone(UTC)
    if not starts < ends <= starts + MAX_LESSON:
        raise InvalidInput("end must be after the start, at most 12 hours later")
    return starts, ends


def create_lesson(session: Session, *, data: LessonInput, by: str | None) -> Lesson:
    """Raises InvalidInput naming the field."""
    starts, ends = _check(data)
    lesson = Lesson(
        title=data.title.strip(),
        url=data.url,
        starts_at=starts,
        ends_at=ends,
        timezone=data.timezone,
        regions=list(data.regions),
        stations=list(data.stations),
        tags=list(data.tags),
        created_by=by,
        created_at=utcnow(),
    )
    session.add(lesson)
    session.commit()
    log.info("lesson %d %r scheduled %s..%s by %s", lesson.id, lesson.title, starts, ends, by)
    return lesson


def get_lesson(session: Session, *, lesson_id: int) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound(f"lesson {lesson_id} does not exist")
    return lesson


def list_lessons(session: Session, *, limit: int = 100) -> list[Lesson]:
    return list(session.scalars(select(Lesson).order_by(Lesson.starts_at.desc()).limit(limit)))


def target_devices(session: Session, lesson: Lesson) -> list[Device]:
    """Enrolled STBs of the stations the lesson names, in its regions (subtrees), or with its tags."""
    wanted = []
    for path in lesson.regions:
        wanted += [Device.region_path == path, Device.region_path.like(f"{path}/%")]
    if lesson.stations:
        wanted.append(Station.code.in_(list(lesson.stations)))
    if lesson.tags:
        tagged = select(Station.id).join(Station.tags).where(Tag.name.in_(list(lesson.tags)))
        wanted.append(Station.id.in_(tagged))
    query = (
        select(Device)
        .join(Station, Device.station_id == Station.id)
        .where(Device.role == "stb", Device.status == "enrolled", or_(*wanted))
        .order_by(Device.id)
        .limit(MAX_TARGETS)
    )
    return list(session.scalars(query))


def utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without their zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def state_of(lesson: Lesson, now: datetime) -> str:
    if now < utc(lesson.starts_at):
        return "scheduled"
    return "live" if now < utc(lesson.ends_at) else "ended"


def until_ms(lesson: Lesson) -> int:
    return int(utc(lesson.ends_at).timestamp() * 1000)


def due_lessons(session: Session, now: datetime) -> list[Lesson]:
    """In start order: an STB runs one probe, the last it was told, so of overlapping lessons told in
    one round the most recently started wins (as it does when its window opens in a later round)."""
    query = select(Lesson).where(Lesson.starts_at <= now + EARLY, Lesson.ends_at > now)
    return list(session.scalars(query.order_by(Lesson.starts_at, Lesson.id)))


def dispatch(session: Session, *, settings: Settings, publisher: Any, now: datetime | None = None) -> int:
    """Tell each target STB of the lessons in their window (not told yet) to probe and play; how many."""
    now = now or utcnow()
    sent = 0
    for lesson in due_lessons(session, now):
        told = set(session.scalars(select(LessonTarget.device_id).where(LessonTarget.lesson_id == lesson.id)))
        for device in target_devices(session, lesson):
            if device.id not in told:
                sent += _tell(session, settings=settings, publisher=publisher, lesson=lesson, device=device)
    return sent


def _tell(session: Session, *, settings: Settings, publisher: Any, lesson: Lesson, device: Device) -> int:
    args = {
        "url": lesson.url,
        "until_ms": until_ms(lesson),
        "lesson": lesson_label(lesson.id),
        "play": True,  # every lesson is watched: the box's player app plays it where it is integrated
    }
    try:
        queued = queue_command(session, settings=settings, device_id=device.id, name=PROBE, args=args)
        session.add(
            LessonTarget(
                lesson_id=lesson.id, device_id=device.id, command_id=queued.record.id, sent_at=utcnow()
            )
        )
        session.commit()
    except ControllerError as exc:  # one device failing never stops the others
        session.rollback()
        log.warning("%s: lesson %d probe not queued: %s", device.id, lesson.id, exc)
        return 0
    try:
        outbox.publish_committed(session, publisher, settings, queued)
    except ControllerError as exc:  # queued and recorded: the outbox sweep publishes it later
        log.warning("%s: lesson %d probe queued, not yet published: %s", device.id, lesson.id, exc)
    return 1


def told_devices(session: Session, lesson_id: int) -> list[str]:
    query = (
        select(LessonTarget.device_id)
        .where(LessonTarget.lesson_id == lesson_id)
        .order_by(LessonTarget.device_id)
    )
    return list(session.scalars(query))


def list_around(session: Session, now: datetime, hours: int = 24) -> list[Lesson]:
    """Lessons overlapping [now - hours, now + hours], by start."""
    span = timedelta(hours=hours)
    query = select(Lesson).where(Lesson.ends_at >= now - span, Lesson.starts_at <= now + span)
    return list(session.scalars(query.order_by(Lesson.starts_at).limit(50)))
