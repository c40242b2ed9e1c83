"""WiFiDog auth decisions through the database: stage login / counters / logout, and roam."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...kernel.clock import as_utc, utcnow
from ...registry.service import normalise_mac
from ...settings import Settings
from .. import login, service
from ..models import PortalSession
from ..records import end_session
from ..tokens import hash_token
from .live import real_traffic

log = logging.getLogger(__name__)
AUTH_ERROR, AUTH_DENIED, AUTH_ALLOWED = -1, 0, 1


def counter(params: Mapping[str, Any], classic: str, apfree: str) -> int:
    """A byte counter under its classic (``incoming``) or apfree (``incoming_bytes``) name; bad → 0."""
    for name in (apfree, classic):
        try:
            value = int(str(params.get(name, "")).strip())
        except ValueError:
            continue
        if value >= 0:
            return value
    return 0


def _session_for(session: Session, *, gw_id: str, token: str) -> PortalSession | None:
    if not token:
        return None
    record = session.scalar(select(PortalSession).where(PortalSession.token_hash == hash_token(token)))
    return record if record is not None and record.gateway == gw_id else None


def _bound(record: PortalSession, mac: str | None, ip: str) -> bool:
    """Token bound to gw + MAC + IP: a classic gateway's first login binds an unknown MAC."""
    if not record.mac and mac:
        record.mac = mac
    if not record.ip and ip:
        record.ip = ip
    return mac == record.mac and (not ip or ip == record.ip)


def _idle(record: PortalSession, now: datetime) -> bool:
    """No real traffic for the session's idle timeout (from the login check when there was none)."""
    since = record.last_activity_at or record.token_used_at or record.started_at
    return bool(record.idle_timeout_s) and (now - as_utc(since)).total_seconds() >= record.idle_timeout_s


def _limits_left(session: Session, record: PortalSession, now: datetime) -> bool:
    """False (and the session ended) when time, data quota or idle time is used up."""
    if as_utc(record.expires_at) <= now:
        end_session(session, record=record, reason="expired", ended_at=now)
        return False
    if record.quota_bytes and record.bytes_up + record.bytes_down >= record.quota_bytes:
        end_session(session, record=record, reason="quota", ended_at=now)
        return False
    if _idle(record, now):
        end_session(session, record=record, reason="idle", ended_at=now)
        return False
    return True


def decide(
    session: Session,
    *,
    gw_id: str,
    params: Mapping[str, Any],
    now: datetime | None = None,
    probe_bytes: int = 0,
) -> int:
    """The ``Auth: n`` answer for one ``auth`` request (classic or apfree field names); commits.

    ``now`` is the runtime's clock; counter growth up to ``probe_bytes`` is not activity (live.py).
    """
    stage = str(params.get("stage", ""))
    record = _session_for(session, gw_id=gw_id, token=str(params.get("token", "")))
    mac, ip = normalise_mac(str(params.get("mac", ""))), str(params.get("ip", ""))[:45]
    now = now or utcnow()
    if stage == "logout":
        if record is not None and record.status == "active" and _bound(record, mac, ip):
            end_session(session, record=record, reason="logout", ended_at=now)
            session.commit()
        return AUTH_DENIED  # apfree removes the client only on Auth: 0
    if stage not in ("login", "counters"):
        return AUTH_ERROR
    if record is None or record.status != "active" or not _bound(record, mac, ip):
        log.info("%s wifidog %s refused for mac %s", gw_id, stage, mac)
        return AUTH_DENIED
    if stage == "login":
        if record.token_used_at is not None:
            log.warning("%s wifidog token replayed for session %s", gw_id, record.id)
            return AUTH_DENIED
        record.token_used_at = now
    elif record.token_used_at is None:
        return AUTH_DENIED  # counters before the login check: never validated
    else:
        _count(record, params, now, probe_bytes)
    allowed = _limits_left(session, record, now)
    session.commit()
    return AUTH_ALLOWED if allowed else AUTH_DENIED


def _count(record: PortalSession, params: Mapping[str, Any], now: datetime, probe_bytes: int) -> None:
    down = counter(params, "incoming", "incoming_bytes")  # incoming = download to the client
    up = counter(params, "outgoing", "outgoing_bytes")
    if real_traffic(record.bytes_down, record.bytes_up, down, up, probe_bytes):
        record.last_activity_at = now
    record.bytes_down, record.bytes_up = max(record.bytes_down, down), max(record.bytes_up, up)


def roam(session: Session, *, settings: Settings, gw_id: str, mac_raw: str, ip: str) -> dict[str, Any]:
    """apfree ``roam``: authorise a device that holds a live session in the same roaming area."""
    mac = normalise_mac(mac_raw)
    site = service.site_for(session, kind="wifidog", gateway=gw_id)
    old = service.find_roaming(session, settings=settings, mac=mac or "", site=site) if mac else None
    if old is None or mac is None:
        return {"roam": "no"}
    if old.gateway == gw_id and old.token_used_at is not None:
        return {"roam": "no"}  # already online here; the gateway knows its token
    token = login.new_pending(
        session, settings=settings, kind="wifidog", gateway=gw_id, mac=mac, ip=ip, url=""
    )
    pending = login.load_pending(session, token=token)
    now = utcnow()
    granted = service.grant(
        session,
        settings=settings,
        publisher=None,
        pending=pending,
        token=token,
        grant=service.roaming_grant(old),
    )
    record = granted.session
    record.token_used_at = now
    session.commit()
    first = int(as_utc(record.started_at).timestamp())
    return {"roam": "yes", "client": {"token": granted.wifidog_token, "first_login": first}}
