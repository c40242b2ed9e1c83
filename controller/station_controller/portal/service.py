"""Portal sessions: admission checks, grant (portal.allow or a wifidog token), roaming, kick, extend."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from station_protocol import contract
from station_protocol import portal as wire

from ..commands import outbox
from ..commands.outbox import QueuedCommand
from ..commands.publisher import CommandPublisher
from ..commands.service import queue_command
from ..errors import DeviceUnreachable, NotFound
from ..kernel.clock import as_utc, utcnow
from ..registry.models import Device, Station
from ..settings import Settings
from . import policies
from .errors import AccessDenied, LoginExpired, QuotaUsedUp, RouterUnreachable
from .models import LoginRecord, PendingLogin, PortalSession, TermsAcceptance, Voucher, WifidogGateway
from .records import end_session
from .tokens import hash_token, new_login_token, new_session_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Site:
    """Where a phone logs in: a native router (``device_id``) or a wifidog gateway."""

    kind: str  # native | wifidog
    gateway: str
    station_id: int | None
    station_code: str
    region_path: str

    @property
    def device_id(self) -> str | None:
        return self.gateway if self.kind == "native" else None


@dataclass
class Grant:
    """What a successful login gives; ``None`` limits come from the resolved policy."""

    method: str  # sms | voucher | roam
    phone: str | None = None
    voucher: Voucher | None = None
    expires_at: datetime | None = None
    quota_bytes: int | None = None
    up_kbps: int | None = None
    down_kbps: int | None = None
    terms_version: str | None = None
    replaces: PortalSession | None = None


@dataclass(frozen=True)
class Granted:
    session: PortalSession
    wifidog_token: str | None  # the token to hand to the wifidog gateway (shown once)


def site_for(session: Session, *, kind: str, gateway: str) -> Site:
    if kind == "native":
        device = session.get(Device, gateway)
        if device is None:
            raise NotFound(f"router {gateway!r} is not registered")
        return Site("native", gateway, device.station_id, device.station.code, device.region_path)
    gw = session.get(WifidogGateway, gateway)
    if gw is None:
        raise NotFound(f"wifidog gateway {gateway!r} is not registered")
    station = session.get(Station, gw.station_id) if gw.station_id is not None else None
    code, path = (station.code, station.region.path) if station else ("", "")
    return Site("wifidog", gateway, gw.station_id, code, path)


def policy_for(session: Session, *, settings: Settings, site: Site) -> policies.EffectivePolicy:
    return policies.resolve(
        session,
        settings=settings,
        region_path=site.region_path,
        station_code=site.station_code or None,
        device_id=site.device_id,
    )


def day_start(now: datetime) -> datetime:
    """Start of today in Beijing time (daily quotas reset at local midnight), as UTC."""
    local = now + timedelta(hours=8)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=8)


def used_today(session: Session, *, phone: str, now: datetime) -> int:
    stmt = select(func.coalesce(func.sum(PortalSession.bytes_up + PortalSession.bytes_down), 0)).where(
        PortalSession.phone == phone, PortalSession.started_at >= day_start(now)
    )
    return int(session.scalar(stmt) or 0)


def admit_phone(
    session: Session, *, policy: policies.EffectivePolicy, phone: str, mac: str, now: datetime
) -> int:
    """Raise unless ``phone`` may bring ``mac`` online; returns the bytes left today (0 = no quota)."""
    macs = set(
        session.scalars(
            select(PortalSession.mac).where(
                PortalSession.phone == phone,
                PortalSession.status == "active",
                PortalSession.expires_at > now,
            )
        )
    )
    if mac not in macs and len(macs) >= policy.devices_per_phone:
        raise AccessDenied(
            f"this phone number already has {len(macs)} devices online (limit {policy.devices_per_phone}); "
            "log out another device first"
        )
    if policy.daily_quota_bytes <= 0:
        return 0
    left = policy.daily_quota_bytes - used_today(session, phone=phone, now=now)
    if left <= 0:
        raise QuotaUsedUp("today's data quota for this phone number is used up; it resets at midnight")
    return left


def claim_pending(session: Session, *, token: str, now: datetime) -> None:
    """Mark the pending login used, atomically: a replayed token finds it used and is refused."""
    result = session.execute(
        update(PendingLogin)
        .where(PendingLogin.token_hash == hash_token(token), PendingLogin.used_at.is_(None))
        .where(PendingLogin.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        session.rollback()
        raise LoginExpired(
            "this login page was already used or has expired; open any web page to start again"
        )


def _new_session(
    site: Site, pending: PendingLogin, grant: Grant, policy: Any, now: datetime
) -> PortalSession:
    expires = grant.expires_at or now + timedelta(seconds=policy.session_s)
    return PortalSession(
        id=new_session_id(),
        kind=site.kind,
        gateway=site.gateway,
        station_id=site.station_id,
        region_path=site.region_path,
        phone=grant.phone,
        voucher_id=grant.voucher.id if grant.voucher else None,
        mac=pending.mac,
        ip=pending.ip,
        started_at=now,
        expires_at=expires,
        idle_timeout_s=policy.idle_timeout_s,
        up_kbps=grant.up_kbps if grant.up_kbps is not None else policy.up_kbps,
        down_kbps=grant.down_kbps if grant.down_kbps is not None else policy.down_kbps,
        quota_bytes=grant.quota_bytes or 0,
        bytes_up=0,
        bytes_down=0,
        status="active",
    )


def _record(
    session: Session, new: PortalSession, site: Site, grant: Grant, terms: str, now: datetime
) -> None:
    session.add(
        LoginRecord(
            session_id=new.id,
            method=grant.method,
            phone=grant.phone,
            voucher_code=grant.voucher.code if grant.voucher else None,
            mac=new.mac,
            ip=new.ip,
            gateway=site.gateway,
            station_code=site.station_code,
            started_at=now,
            bytes_up=0,
            bytes_down=0,
        )
    )
    session.add(
        TermsAcceptance(
            session_id=new.id, phone=grant.phone, mac=new.mac, terms_version=terms, accepted_at=now
        )
    )


def allow_args(record: PortalSession) -> dict[str, Any]:
    """``portal.allow`` args (station_protocol.portal.AllowArgs, docs/protocol.md §10)."""
    return contract.encode(
        wire.AllowArgs(
            session_id=record.id,
            mac=record.mac,
            ip=record.ip,
            expires_at=_ms(record.expires_at),
            idle_timeout_s=record.idle_timeout_s,
            up_kbps=record.up_kbps,
            down_kbps=record.down_kbps,
            quota_bytes=record.quota_bytes,
        )
    )


def revoke_args(record: PortalSession, *, reason: str) -> dict[str, Any]:
    """``portal.revoke`` args (station_protocol.portal.RevokeArgs)."""
    return contract.encode(wire.RevokeArgs(session_id=record.id, mac=record.mac, reason=reason))


def extend_args(record: PortalSession) -> dict[str, Any]:
    """``portal.extend`` args (station_protocol.portal.ExtendArgs): the session's end and quota now."""
    return contract.encode(
        wire.ExtendArgs(
            session_id=record.id, expires_at=_ms(record.expires_at), quota_bytes=record.quota_bytes
        )
    )


def _ms(when: datetime) -> int:
    return int(as_utc(when).timestamp() * 1000)


def grant(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    pending: PendingLogin,
    token: str,
    grant: Grant,
) -> Granted:
    """Create the session for a verified login and let the phone out (the caller checked admission).

    One transaction: the pending login is claimed (single use), the session, its records and (native)
    the queued ``portal.allow`` are written, and the commit is the last step. Native: a router the
    controller cannot publish to is refused before anything is written (RouterUnreachable; the login
    page and its code stay usable), and ``portal.allow`` is published after the commit.
    Wifidog: a fresh token is stored hashed on the session and returned for the gateway redirect.
    """
    now = utcnow()
    claim_pending(session, token=token, now=now)
    site = site_for(session, kind=pending.kind, gateway=pending.gateway)
    policy = policy_for(session, settings=settings, site=site)
    new = _new_session(site, pending, grant, policy, now)
    session.add(new)
    _record(session, new, site, grant, grant.terms_version or policy.terms_version, now)
    _replace_previous(session, new=new, old=grant.replaces, now=now)
    if site.kind == "wifidog":
        wifidog_token = new_login_token()
        new.token_hash = hash_token(wifidog_token)
        session.commit()
        log.info("%s portal session %s granted (%s, wifidog)", site.gateway, new.id, grant.method)
        return Granted(new, wifidog_token)
    queued = queue_command(
        session,
        settings=settings,
        device_id=site.gateway,
        name=wire.ALLOW,
        args=allow_args(new),
        created_by="portal",
    )
    if not outbox.link_ready(publisher):  # the synchronous "router unreachable" answer, before commit
        session.rollback()  # nothing of this login is kept: the page and its code stay usable
        raise _unreachable(None)
    session.commit()
    try:
        outbox.publish_committed(session, publisher, settings, queued)
    except DeviceUnreachable as exc:
        _grant_failed(session, new=new, queued=queued, error=exc.detail)
        raise _unreachable(exc) from exc
    log.info("%s portal session %s granted (%s)", site.gateway, new.id, grant.method)
    return Granted(new, None)


def _unreachable(cause: DeviceUnreachable | None) -> RouterUnreachable:
    if cause is not None:
        log.warning("portal.allow not published after commit: %s", cause.detail)
    return RouterUnreachable("the router could not be reached to let you online; wait a minute and try again")


def _grant_failed(session: Session, *, new: PortalSession, queued: QueuedCommand, error: str) -> None:
    """The broker went away between the readiness check and the publish (after the commit): record the
    grant and its command failed in one follow-up transaction. The login page is spent; the phone
    opens any web page for a new one (rare: the common broker-down case is refused before commit)."""
    outbox.mark_failed(session, queued, error)
    new.status, new.ended_at, new.end_reason = "failed", utcnow(), "router_unreachable"
    session.commit()


def _replace_previous(
    session: Session, *, new: PortalSession, old: PortalSession | None, now: datetime
) -> None:
    """End this MAC's other live sessions at this gateway, and the roamed-from session."""
    stmt = select(PortalSession).where(
        PortalSession.mac == new.mac, PortalSession.status == "active", PortalSession.gateway == new.gateway
    )
    for previous in session.scalars(stmt):
        if previous.id != new.id:
            end_session(session, record=previous, reason="replaced", ended_at=now)
    if old is not None and old.status == "active":
        end_session(session, record=old, reason="roamed", ended_at=now)


def find_roaming(session: Session, *, settings: Settings, mac: str, site: Site) -> PortalSession | None:
    """A live session of ``mac`` in the same roaming area (``portal_roaming_region_depth`` path parts)."""
    if not mac:
        return None
    area = "/".join(site.region_path.split("/")[: settings.portal_roaming_region_depth])
    now = utcnow()
    stmt = select(PortalSession).where(
        PortalSession.mac == mac, PortalSession.status == "active", PortalSession.expires_at > now
    )
    for candidate in session.scalars(stmt.order_by(PortalSession.started_at.desc())):
        if candidate.region_path == area or candidate.region_path.startswith(area + "/") or not area:
            return candidate
    return None


def roaming_grant(old: PortalSession) -> Grant:
    """Carry the old session's end time and remaining quota over to a new gateway."""
    quota = max(1, old.quota_bytes - old.bytes_up - old.bytes_down) if old.quota_bytes else None
    return Grant(
        method="roam",
        phone=old.phone,
        voucher=None,
        expires_at=as_utc(old.expires_at),
        quota_bytes=quota,
        up_kbps=old.up_kbps,
        down_kbps=old.down_kbps,
        replaces=old,
    )


def get_session(session: Session, *, session_id: str) -> PortalSession:
    record = session.get(PortalSession, session_id)
    if record is None:
        raise NotFound(f"portal session {session_id!r} does not exist")
    return record


def list_sessions(
    session: Session,
    *,
    status: str | None,
    gateway: str | None,
    mac: str | None,
    phone: str | None,
    limit: int,
    offset: int,
) -> tuple[list[PortalSession], int]:
    conds = []
    for column, value in (
        (PortalSession.status, status),
        (PortalSession.gateway, gateway),
        (PortalSession.mac, mac),
        (PortalSession.phone, phone),
    ):
        if value:
            conds.append(column == value)
    total = session.scalar(select(func.count()).select_from(PortalSession).where(*conds)) or 0
    stmt = select(PortalSession).where(*conds).order_by(PortalSession.started_at.desc(), PortalSession.id)
    return list(session.scalars(stmt.offset(offset).limit(limit))), int(total)


def kick(
    session: Session, *, settings: Settings, publisher: CommandPublisher | None, session_id: str, by: str
) -> PortalSession:
    """End a live session now; native routers get ``portal.revoke``, wifidog gets Auth: 0 next check.

    One transaction (session ended + revoke queued), then the publish. A native router the controller
    cannot publish to is refused before the commit (DeviceUnreachable, the session stays live).
    """
    record = get_session(session, session_id=session_id)
    if record.status != "active":
        return record
    queued = None
    if record.kind == "native":
        args = revoke_args(record, reason="revoked")
        queued = _queue_for_router(session, settings, publisher, record, wire.REVOKE, args, by)
    end_session(session, record=record, reason="revoked", ended_at=utcnow())
    session.commit()
    if queued is not None:
        _publish_or_leave_queued(session, publisher, settings, queued)
    log.info("%s portal session %s kicked by %s", record.gateway, record.id, by)
    return record


def extend(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    session_id: str,
    add_s: int,
    quota_bytes: int | None,
    by: str,
) -> PortalSession:
    """Push a live session's end ``add_s`` further (from now if already past) and optionally its quota.

    One transaction (new end + ``portal.extend`` queued), then the publish; a native router the
    controller cannot publish to is refused before the commit (DeviceUnreachable, nothing changed).
    """
    record = get_session(session, session_id=session_id)
    if record.status != "active":
        raise AccessDenied(
            f"session {session_id} has ended ({record.end_reason}); the phone must log in again"
        )
    record.expires_at = max(as_utc(record.expires_at), utcnow()) + timedelta(seconds=add_s)
    if quota_bytes is not None:
        record.quota_bytes = quota_bytes
    queued = None
    if record.kind == "native":
        queued = _queue_for_router(session, settings, publisher, record, wire.EXTEND, extend_args(record), by)
    session.commit()
    if queued is not None:
        _publish_or_leave_queued(session, publisher, settings, queued)
    log.info("%s portal session %s extended by %d s by %s", record.gateway, record.id, add_s, by)
    return record


def _queue_for_router(
    session: Session,
    settings: Settings,
    publisher: CommandPublisher | None,
    record: PortalSession,
    name: str,
    args: dict[str, Any],
    by: str,
) -> QueuedCommand:
    """Queue ``name`` for the session's router; DeviceUnreachable (before any commit) if the broker
    link is down, as staff expect the router to hear of the change now."""
    queued = queue_command(
        session, settings=settings, device_id=record.gateway, name=name, args=args, created_by=by
    )
    if not outbox.link_ready(publisher):
        session.rollback()  # the change is not made
        raise DeviceUnreachable(
            f"could not publish to {record.gateway}: not connected to the MQTT broker; retry later"
        )
    return queued


def _publish_or_leave_queued(
    session: Session, publisher: CommandPublisher | None, settings: Settings, queued: QueuedCommand
) -> None:
    """Publish after the commit; if the link dropped since the check, the row stays ``queued`` and
    the outbox sweep sends it when the broker is back (the change is committed, so it must reach the
    router rather than be reported as not done)."""
    try:
        outbox.publish_committed(session, publisher, settings, queued)
    except DeviceUnreachable as exc:
        log.warning(
            "%s %s %s left to the outbox sweep: %s",
            queued.record.device_id,
            queued.record.name,
            queued.id,
            exc.detail,
        )
