"""Portal's device event handler: session accounting from router events, applied in batches by ingest.

``SqlPortalEvents`` is registered with the ingest hub by the composition root (plugins.py); the hub
hands it ``portal.accounting`` / ``portal.session_ended`` events, one transaction per flush.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from station_protocol import portal as wire

from ..ingest.events import DeviceEvent
from ..kernel.clock import utcnow
from .models import LoginRecord, PortalSession

log = logging.getLogger(__name__)
PORTAL_EVENTS = frozenset({wire.ACCOUNTING, wire.SESSION_ENDED})
END_REASONS = ("expired", "quota", "idle", "revoked", "logout", "replaced", "roamed")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _ms(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _updates(events: Sequence[DeviceEvent]) -> dict[tuple[str, str], tuple[DeviceEvent, dict[str, Any]]]:
    """(router, session id) → (event, entry), the later event winning; malformed entries are skipped."""
    latest: dict[tuple[str, str], tuple[DeviceEvent, dict[str, Any]]] = {}
    for event in events:
        entries = event.detail.get("sessions") if event.name == wire.ACCOUNTING else [event.detail]
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("session_id"), str):
                key = (event.device_id, entry["session_id"])
                previous = latest.get(key)
                if previous is None or previous[0].name != wire.SESSION_ENDED:
                    latest[key] = (event, entry)
    return latest


def apply_router_events(session: Session, events: Sequence[DeviceEvent]) -> int:
    """Fold a batch of router events into sessions and login records with one commit; returns rows touched.

    An event about another router's session is ignored (spoofing), as are unknown session ids.
    """
    latest = _updates(events)
    if not latest:
        return 0
    ids = sorted({session_id for _, session_id in latest})
    sessions = {s.id: s for s in session.scalars(select(PortalSession).where(PortalSession.id.in_(ids)))}
    logins = {
        r.session_id: r for r in session.scalars(select(LoginRecord).where(LoginRecord.session_id.in_(ids)))
    }
    touched = 0
    for (_, session_id), (event, entry) in latest.items():
        record = sessions.get(session_id)
        if record is None or record.gateway != event.device_id:
            if record is not None:
                log.warning(
                    "%s reported session %s of %s; ignored", event.device_id, session_id, record.gateway
                )
            continue
        record.bytes_up = max(record.bytes_up, _int(entry.get("bytes_up")))
        record.bytes_down = max(record.bytes_down, _int(entry.get("bytes_down")))
        record.last_activity_at = _ms(entry.get("last_activity_ms")) or record.last_activity_at
        login = logins.get(session_id)
        if login is not None:
            login.bytes_up, login.bytes_down = record.bytes_up, record.bytes_down
        if event.name == wire.SESSION_ENDED and record.status == "active":
            reason = entry.get("reason") if entry.get("reason") in END_REASONS else "expired"
            ended = _ms(entry.get("ended_at")) or utcnow()
            record.status, record.ended_at, record.end_reason = "ended", ended, str(reason)
            if login is not None:
                login.ended_at = ended
        touched += 1
    session.commit()
    return touched


class SqlPortalEvents:
    """The portal's DeviceEventHandler: ``apply_router_events`` in one session (one commit) per batch."""

    names = PORTAL_EVENTS

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def record(self, events: Sequence[DeviceEvent]) -> None:
        with self._factory() as session:
            apply_router_events(session, events)
