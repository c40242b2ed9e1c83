"""Devices stuck in an update state past its deadline: marked (``stuck_at`` + a history row) and listed.

A device that stops reporting mid-update (power cut, link gone, agent wedged) would otherwise look
"installing" forever. ``queued`` has no deadline: a queued update waits for its night window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..kernel.clock import as_utc, utcnow
from .models import FirmwareDeviceState, FirmwareUpdateEvent

log = logging.getLogger(__name__)

# Seconds a device may stay in each state before it counts as stuck.
DEFAULT_DEADLINES_S: Mapping[str, float] = {
    "downloading": 6 * 3600.0,  # a 2 Mbit/s village link moves ~5 GB in 6 h
    "installing": 1800.0,
    "restarting": 900.0,  # the launcher's 3 attempts, or a reboot
    "health_check": 1800.0,  # above the default health deadline (300 s) plus a reconnect
}


def mark_stuck(
    session: Session, *, now: datetime | None = None, deadlines_s: Mapping[str, float] = DEFAULT_DEADLINES_S
) -> list[str]:
    """Mark devices past their state's deadline (once per state entered); their ids, committed."""
    moment = now or utcnow()
    marked: list[str] = []
    for state, limit in deadlines_s.items():
        stmt = select(FirmwareDeviceState).where(
            FirmwareDeviceState.state == state,
            FirmwareDeviceState.stuck_at.is_(None),
            FirmwareDeviceState.state_since < moment - timedelta(seconds=limit),
        )
        for row in session.scalars(stmt):
            row.stuck_at = moment
            minutes = (moment - as_utc(row.state_since)).total_seconds() / 60
            session.add(
                FirmwareUpdateEvent(
                    device_id=row.device_id,
                    job_id=row.job_id,
                    release_id=row.release_id,
                    version=row.version,
                    from_version=row.from_version,
                    state="stuck",
                    reason=state,
                    detail=f"{state} for {minutes:.0f} min (deadline {limit / 60:.0f} min)",
                    at=moment,
                )
            )
            marked.append(row.device_id)
            log.warning(
                "%s firmware %s stuck in %s for %.0f min", row.device_id, row.release_id, state, minutes
            )
    session.commit()
    return marked


def list_stuck(session: Session, *, limit: int = 500) -> list[FirmwareDeviceState]:
    stmt = (
        select(FirmwareDeviceState)
        .where(FirmwareDeviceState.stuck_at.is_not(None))
        .order_by(FirmwareDeviceState.state_since)
        .limit(limit)
    )
    return list(session.scalars(stmt))


class StuckSweeper:
    """Background part: ``mark_stuck`` every ``interval_s`` in its own thread and session."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        interval_s: float = 60.0,
        deadlines_s: Mapping[str, float] = DEFAULT_DEADLINES_S,
    ) -> None:
        self._factory = session_factory
        self._interval = interval_s
        self._deadlines = dict(deadlines_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[str]:
        with self._factory() as session:
            return mark_stuck(session, deadlines_s=self._deadlines)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
            except Exception:  # a database outage must not end the loop
                log.exception("firmware stuck sweep failed; next try in %.0f s", self._interval)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="firmware-stuck", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
