"""Recording ``firmware.progress`` events: each device's current update state and its history."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from station_protocol import codec
from station_protocol import firmware as fw
from station_protocol.errors import MalformedMessage

from .models import FirmwareDeviceState, FirmwareUpdateEvent

log = logging.getLogger(__name__)


def parse_progress(device_id: str, detail: Mapping[str, Any]) -> fw.Progress | None:
    """The event body, or None (logged) when it is not a valid ``firmware.progress``."""
    try:
        return codec.decode(fw.Progress, dict(detail), "firmware.progress", strict=False)
    except MalformedMessage as exc:
        log.warning("%s: firmware.progress ignored: %s", device_id, exc)
        return None


def _history(session: Session, device_id: str, p: fw.Progress, now: datetime) -> None:
    session.add(
        FirmwareUpdateEvent(
            device_id=device_id,
            job_id=p.job_id,
            release_id=p.release_id,
            version=p.version,
            from_version=p.from_version,
            state=p.state,
            reason=p.reason,
            detail=p.detail[:1024],
            at=now,
        )
    )


def record_progress(session: Session, *, device_id: str, progress: fw.Progress, now: datetime) -> bool:
    """Fold one event into the device's state (the caller commits); True when the state changed.

    History gets one row per state entered; repeated progress of the same state only moves the counters.
    """
    p = progress
    row = session.get(FirmwareDeviceState, device_id)
    changed = row is None or row.job_id != p.job_id or row.state != p.state
    if row is None:
        row = FirmwareDeviceState(device_id=device_id, state_since=now)
        session.add(row)
    if changed:
        row.state_since, row.stuck_at = now, None
        _history(session, device_id, p, now)
    row.job_id, row.release_id, row.kind, row.version = p.job_id, p.release_id, p.kind, p.version
    row.from_version, row.campaign_id, row.state, row.reason = (
        p.from_version,
        p.campaign_id,
        p.state,
        p.reason,
    )
    row.detail, row.slot, row.attempt = p.detail[:1024], p.slot, p.attempt
    row.bytes_done, row.bytes_total, row.updated_at = p.bytes_done, p.bytes_total, now
    if changed and p.state in ("rolled_back", "refused", "failed"):
        log.warning("%s firmware %s %s: %s %s", device_id, p.release_id, p.state, p.reason, p.detail)
    session.flush()
    return changed
