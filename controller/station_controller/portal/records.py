"""Login records: ending a session, retention purge, CSV, statistics (router events: device_events.py)."""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..csv_export import SafeCsvWriter
from ..kernel.clock import as_utc, utcnow
from ..settings import Settings
from .models import LoginRecord, PendingLogin, PortalSession, SmsCode, TermsAcceptance

log = logging.getLogger(__name__)
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


def end_session(session: Session, *, record: PortalSession, reason: str, ended_at: datetime) -> None:
    """Mark a session ended (no commit) and close its login record."""
    if record.status != "active":
        return
    record.status, record.ended_at, record.end_reason = "ended", ended_at, reason
    login = session.scalar(select(LoginRecord).where(LoginRecord.session_id == record.id))
    if login is not None:
        login.ended_at, login.bytes_up, login.bytes_down = ended_at, record.bytes_up, record.bytes_down


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
