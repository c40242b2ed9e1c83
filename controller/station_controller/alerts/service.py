"""Alerts services: record Alertmanager's webhook, list and acknowledge alerts, maintenance windows
(Alertmanager silences on the devices of a station or region subtree), the robot and SMS relays."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..registry.models import Device, Station
from ..settings import Settings
from . import robots
from .alertmanager import AlertmanagerApi, Matcher, Silence
from .models import AlertRecord
from .schemas import MaintenanceOut, WebhookAlert, WebhookBody

log = logging.getLogger(__name__)
MAX_WINDOW_DEVICES = 2000  # one silence's device regex; a larger region needs several windows
TARGET_RE = re.compile(r"^\[(station|region) ([^\]]{1,512})\] ?")


class SmsSender(Protocol):
    """The portal's SMS provider interface (portal/sms.py SmsSender), used for critical alerts."""

    def send(self, *, phone: str, code: str) -> None: ...


@dataclass(frozen=True)
class Place:
    station_code: str | None
    region_path: str | None


def _places(session: Session, devices: set[str]) -> dict[str, Place]:
    if not devices:
        return {}
    rows = session.execute(
        select(Device.id, Station.code, Device.region_path)
        .join(Station, Station.id == Device.station_id)
        .where(Device.id.in_(devices))
    )
    return {device: Place(code, path) for device, code, path in rows}


def _apply(record: AlertRecord, alert: WebhookAlert, place: Place | None, now: datetime) -> None:
    if record.status == "resolved" and alert.status == "firing":
        record.acknowledged_by, record.acknowledged_at = None, None  # a new episode needs a new look
    record.status = alert.status
    record.alertname = alert.labels.get("alertname", "")[:128]
    record.severity = alert.labels.get("severity", "warning")[:16]
    record.device = alert.labels.get("device", "")[:64] or None
    record.station_code = place.station_code if place else None
    record.region_path = place.region_path if place else None
    record.summary = alert.annotations.get("summary", "")[:1024]
    record.labels, record.annotations = dict(alert.labels), dict(alert.annotations)
    record.starts_at = alert.startsAt
    record.ends_at = alert.endsAt if alert.status == "resolved" else None
    record.updated_at = now


def record_webhook(session: Session, *, body: WebhookBody) -> int:
    """Upsert one row per alert (by fingerprint); returns how many alerts were recorded."""
    now = utcnow()
    places = _places(session, {a.labels["device"] for a in body.alerts if "device" in a.labels})
    prints = [a.fingerprint for a in body.alerts]
    existing = {
        r.fingerprint: r
        for r in session.scalars(select(AlertRecord).where(AlertRecord.fingerprint.in_(prints)))
    }
    for alert in body.alerts:
        record = existing.get(alert.fingerprint)
        if record is None:
            record = existing[alert.fingerprint] = AlertRecord(fingerprint=alert.fingerprint)
            session.add(record)
        _apply(record, alert, places.get(alert.labels.get("device", "")), now)
    session.commit()
    log.info("webhook: %d alerts recorded (%s, receiver %s)", len(body.alerts), body.status, body.receiver)
    return len(body.alerts)


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    station: str | None = None,
    region: str | None = None,
    limit: int = 200,
) -> tuple[list[AlertRecord], dict[str, int]]:
    """Alerts newest first (firing before resolved) and the firing/resolved counts of the filter."""
    where: list[ColumnElement[bool]] = []
    if station:
        where.append(AlertRecord.station_code == station)
    if region:
        where.append(or_(AlertRecord.region_path == region, AlertRecord.region_path.like(f"{region}/%")))
    counts = {"firing": 0, "resolved": 0}
    grouped = select(AlertRecord.status, func.count()).where(*where).group_by(AlertRecord.status)
    for state, count in session.execute(grouped):
        counts[str(state)] = int(count)
    if status:
        where.append(AlertRecord.status == status)
    query = select(AlertRecord).where(*where).order_by(AlertRecord.status, AlertRecord.starts_at.desc())
    return list(session.scalars(query.limit(limit))), counts


def acknowledge(session: Session, *, alert_id: int, username: str) -> AlertRecord:
    record = session.get(AlertRecord, alert_id)
    if record is None:
        raise NotFound(f"alert {alert_id} does not exist")
    record.acknowledged_by, record.acknowledged_at = username, utcnow()
    session.commit()
    log.info("alert %s (%s %s) acknowledged by %s", alert_id, record.alertname, record.device, username)
    return record


def _window_devices(session: Session, *, station: str | None, region: str | None) -> tuple[str, list[str]]:
    if bool(station) == bool(region):
        raise InvalidInput("give exactly one of station (code) or region (path)")
    query = select(Device.id).join(Station, Station.id == Device.station_id)
    if station:
        target, query = f"station {station}", query.where(Station.code == station)
    else:
        path = str(region).rstrip("/")
        target = f"region {path}"
        query = query.where(or_(Device.region_path == path, Device.region_path.like(f"{path}/%")))
    devices = sorted(session.scalars(query.limit(MAX_WINDOW_DEVICES + 1)))
    if not devices:
        raise NotFound(f"{target} has no devices")
    if len(devices) > MAX_WINDOW_DEVICES:
        raise InvalidInput(f"{target} has more than {MAX_WINDOW_DEVICES} devices: choose smaller regions")
    return target, devices


def create_maintenance(
    session: Session,
    alertmanager: AlertmanagerApi,
    *,
    station: str | None,
    region: str | None,
    hours: float,
    username: str,
    comment: str,
) -> str:
    """An Alertmanager silence on every device of the station / region subtree now; returns its id.

    The silence names the devices (``device=~"a|b"``): alerts carry no region label, and a device
    added to the region later is not covered by a window created before.
    """
    target, devices = _window_devices(session, station=station, region=region)
    pattern = "|".join(re.escape(d) for d in devices)
    now = utcnow()
    return alertmanager.create_silence(
        matchers=[Matcher("device", pattern, is_regex=True)],
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        created_by=username,
        comment=f"[{target}] {comment}".strip(),
    )


def window_target(silence: Silence) -> tuple[str, str]:
    """(target, comment) of a window created here; other silences show their matchers as the target."""
    if found := TARGET_RE.match(silence.comment):
        return f"{found.group(1)} {found.group(2)}", silence.comment[found.end() :]
    return ", ".join(f"{m.name}{'=~' if m.is_regex else '='}{m.value}" for m in silence.matchers)[:200], (
        silence.comment
    )


def window_devices(silence: Silence) -> list[str]:
    for m in silence.matchers:
        if m.name == "device":
            return [d.replace("\\", "") for d in m.value.split("|")] if m.is_regex else [m.value]
    return []


def window_out(silence: Silence) -> MaintenanceOut:
    target, comment = window_target(silence)
    return MaintenanceOut(
        id=silence.id,
        target=target,
        devices=window_devices(silence)[:50],
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=comment,
        state=silence.state,
    )


def relay(kind: str, *, body: WebhookBody, settings: Settings, sms: SmsSender) -> int:
    """Deliver one Alertmanager notification to the DingTalk/WeCom robot or the SMS phones; count sent."""
    timeout = settings.alerts_notify_timeout_s
    if kind == "dingtalk" and settings.alerts_dingtalk_url:
        url = robots.dingtalk_signed_url(
            settings.alerts_dingtalk_url, settings.alerts_dingtalk_secret.get_secret_value()
        )
        robots.post_robot(url, robots.dingtalk_message(body), timeout_s=timeout)
        return 1
    if kind == "wecom" and settings.alerts_wecom_url:
        robots.post_robot(settings.alerts_wecom_url, robots.wecom_message(body), timeout_s=timeout)
        return 1
    if kind == "sms":
        text = robots.sms_text(body)
        for phone in settings.alerts_sms_phones:
            sms.send(phone=phone, code=text)
        return len(settings.alerts_sms_phones)
    raise NotFound(f"relay {kind} is not configured")
