"""Overview figures, each one query: devices online by region, firing alerts, running campaigns and
jobs, portal users online now; today's lessons come from the lessons feature when it is installed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..alerts.models import AlertRecord
from ..campaigns.models import Campaign
from ..kernel.clock import utcnow
from ..portal.models import PortalSession
from ..provisioning.jobs.models import Job
from ..registry.models import Device

REGION_DEPTH = 2  # province/city: a shift's first look is per city, the station list goes deeper
MAX_ALERTS = 20
RUNNING_CAMPAIGN_STATES = ("running", "paused")
RUNNING_JOB_STATES = ("queued", "running")
# The lessons feature may offer ``lessons_today(session, now) -> list[dict]`` (plugins.Feature.services);
# each dict: id, title, starts_at, ends_at, state, stations, watching, rebuffer_ratio, startup_s, url.
LessonsToday = Callable[[Session, datetime], list[dict[str, Any]]]


@dataclass
class RegionCount:
    region: str
    online: int = 0
    offline: int = 0


@dataclass
class Overview:
    generated_at: str
    devices: dict[str, int]
    regions: list[RegionCount]
    alerts: list[dict[str, Any]]
    alerts_by_severity: dict[str, int]
    campaigns: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    portal_online: int
    lessons: list[dict[str, Any]] | None = None  # None: the lessons feature is not installed
    lessons_error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def region_counts(session: Session, *, depth: int = REGION_DEPTH) -> list[RegionCount]:
    """Enrolled devices online/offline per region prefix of ``depth`` parts, most offline first."""
    rows = session.execute(
        select(Device.region_path, Device.online, func.count())
        .where(Device.status == "enrolled")
        .group_by(Device.region_path, Device.online)
    )
    counts: dict[str, RegionCount] = defaultdict(lambda: RegionCount(""))
    for path, online, count in rows:
        key = "/".join(str(path).split("/")[:depth])
        item = counts[key]
        item.region = key
        if online:
            item.online += int(count)
        else:
            item.offline += int(count)
    return sorted(counts.values(), key=lambda r: (-r.offline, r.region))


def firing_alerts(session: Session) -> tuple[list[dict[str, Any]], dict[str, int]]:
    by_severity = {
        str(sev): int(n)
        for sev, n in session.execute(
            select(AlertRecord.severity, func.count())
            .where(AlertRecord.status == "firing")
            .group_by(AlertRecord.severity)
        )
    }
    rows = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.status == "firing")
        .order_by(AlertRecord.severity, AlertRecord.starts_at.desc())
        .limit(MAX_ALERTS)
    )
    alerts = [
        {
            "alertname": r.alertname,
            "severity": r.severity,
            "device": r.device,
            "station": r.station_code,
            "region": r.region_path,
            "summary": r.summary,
            "since": r.starts_at.isoformat(),
            "acknowledged": r.acknowledged_by is not None,
        }
        for r in rows
    ]
    return alerts, by_severity


def running_campaigns(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Campaign)
        .where(Campaign.state.in_(RUNNING_CAMPAIGN_STATES))
        .order_by(Campaign.id.desc())
        .limit(20)
    )
    return [
        {"id": c.id, "name": c.name, "kind": c.payload_kind, "state": c.state, "wave": c.current_wave,
         "waves": c.wave_count}
        for c in rows
    ]  # fmt: skip


def running_jobs(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Job).where(Job.status.in_(RUNNING_JOB_STATES)).order_by(Job.id.desc()).limit(20)
    )
    return [{"id": j.id, "action": j.action, "status": j.status, "by": j.created_by} for j in rows]


def portal_online(session: Session, *, now: datetime) -> int:
    query = select(func.count()).where(PortalSession.status == "active", PortalSession.expires_at > now)
    return int(session.scalar(query) or 0)


def overview(session: Session, *, lessons_today: LessonsToday | None) -> Overview:
    now = utcnow()
    regions = region_counts(session)
    alerts, by_severity = firing_alerts(session)
    result = Overview(
        generated_at=now.isoformat(),
        devices={
            "online": sum(r.online for r in regions),
            "offline": sum(r.offline for r in regions),
        },
        regions=regions,
        alerts=alerts,
        alerts_by_severity=by_severity,
        campaigns=running_campaigns(session),
        jobs=running_jobs(session),
        portal_online=portal_online(session, now=now),
    )
    if lessons_today is not None:
        try:
            result.lessons = lessons_today(session, now)
        except Exception as exc:  # noqa: BLE001 - another feature's failure must not blank the landing page
            result.lessons, result.lessons_error = [], f"{type(exc).__name__}: {exc}"[:200]
    return result
