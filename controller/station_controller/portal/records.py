"""Session accounting from router events (batched), login records: retention purge, CSV, statistics."""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..csv_export import SafeCsvWriter
from ..kernel.clock import as_utc, utcnow
from ..settings import Settings
from .models import LoginRecord, PendingLogin, PortalSession, SmsCode, TermsAcceptance

log = logging.getLogger(__name__)
END_REASONS = ("expired", "quota", "idle", "revoked", "logout", "replaced", "roamed")
CSV_COLUMNS = (
    "session_id",
    "method",
    "phone",
    "voucher_code",
    "mac",
    "ip",
    "gateway",
    "station_code",
    "started_at",
    "ended_at",
    "bytes_up",
    "bytes_down",
)
SMS_KEEP = timedelta(days=2)  # daily limits look back 24 h; older codes are noise


@dataclass(frozen=True)
class RouterEvent:
    """One ``portal.accounting`` / ``portal.session_ended`` event from a router."""

    device_id: str
    name: str
    detail: dict[str, Any]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _ms(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def end_session(session: Session, *, record: PortalSession, reason: str, ended_at: datetime) -> None:
    """Mark a session ended (no commit) and close its login record."""
    if record.status != "active":
        return
    record.status, record.ended_at, record.end_reason = "ended", ended_at, reason
    login = session.scalar(select(LoginRecord).where(LoginRecord.session_id == record.id))
    if login is not None:
        login.ended_at, login.bytes_up, login.bytes_down = ended_at, record.bytes_up, record.bytes_down


def _updates(events: Sequence[RouterEvent]) -> dict[tuple[str, str], tuple[RouterEvent, dict[str, Any]]]:
    """(router, session id) → (event, entry), the later event winning; malformed entries are skipped."""
    latest: dict[tuple[str, str], tuple[RouterEvent, dict[str, Any]]] = {}
    for event in events:
        entries = event.detail.get("sessions") if event.name == "portal.accounting" else [event.detail]
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("session_id"), str):
                key = (event.device_id, entry["session_id"])
                previous = latest.get(key)
                if previous is None or previous[0].name != "portal.session_ended":
                    latest[key] = (event, entry)
    return latest


def apply_router_events(session: Session, events: Sequence[RouterEvent]) -> int:
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
        if event.name == "portal.session_ended" and record.status == "active":
            reason = entry.get("reason") if entry.get("reason") in END_REASONS else "expired"
            ended = _ms(entry.get("ended_at")) or utcnow()
            record.status, record.ended_at, record.end_reason = "ended", ended, str(reason)
            if login is not None:
                login.ended_at = ended
        touched += 1
    session.commit()
    return touched


def purge(session: Session, *, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Delete login records, terms acceptances and ended sessions older than the retention period,
    plus expired pending logins and old SMS codes. Returns rows deleted per table."""
    moment = now or utcnow()
    cutoff = moment - timedelta(days=settings.portal_retention_days)
    statements = {
        "login_records": delete(LoginRecord).where(LoginRecord.started_at < cutoff),
        "terms_acceptances": delete(TermsAcceptance).where(TermsAcceptance.accepted_at < cutoff),
        "sessions": delete(PortalSession).where(
            PortalSession.status != "active", PortalSession.started_at < cutoff
        ),
        "pending_logins": delete(PendingLogin).where(PendingLogin.expires_at < moment),
        "sms_codes": delete(SmsCode).where(SmsCode.created_at < moment - SMS_KEEP),
    }
    counts = {
        name: int(getattr(session.execute(stmt), "rowcount", 0) or 0) for name, stmt in statements.items()
    }
    session.commit()
    log.info("portal purge (retention %d days): %s", settings.portal_retention_days, counts)
    return counts


def _records(session: Session, start: datetime, end: datetime, station: str | None) -> Any:
    stmt = select(LoginRecord).where(LoginRecord.started_at >= start, LoginRecord.started_at < end)
    if station:
        stmt = stmt.where(LoginRecord.station_code == station)
    return session.scalars(
        stmt.order_by(LoginRecord.started_at, LoginRecord.id).execution_options(yield_per=1000)
    )


def export_csv(session: Session, *, start: datetime, end: datetime, station: str | None) -> Iterator[str]:
    """Login records in [start, end) as CSV text chunks (header first), times in UTC ISO 8601."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(CSV_COLUMNS)
    for record in _records(session, start, end, station):
        writer.writerow([getattr(record, column) for column in CSV_COLUMNS])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def login_stats(
    session: Session, *, start: datetime, end: datetime, station: str | None
) -> list[dict[str, Any]]:
    """Logins per station and Beijing-time day: count, distinct phones, distinct devices, bytes."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    seen: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for record in _records(session, start, end, station):
        day = (as_utc(record.started_at) + timedelta(hours=8)).date().isoformat()
        key = (record.station_code, day)
        row = rows.setdefault(key, {"station_code": key[0], "day": day, "logins": 0, "bytes": 0})
        row["logins"] += 1
        row["bytes"] += record.bytes_up + record.bytes_down
        phones, macs = seen[key]
        phones.add(record.phone or record.voucher_code or "")
        macs.add(record.mac)
    for key, row in rows.items():
        row["users"], row["devices"] = len(seen[key][0]), len(seen[key][1])
    return [rows[k] for k in sorted(rows)]
