"""The firmware DeviceEventHandler: ``firmware.progress`` events into device state and history.

Registered with the ingest hub by the composition root (feature.py); campaign outcomes of the same events
come from the payload (campaign_payload.py), through the campaigns handler.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from station_protocol import firmware as fw

from ..ingest.events import DeviceEvent
from ..kernel.clock import utcnow
from .progress import parse_progress, record_progress


class FirmwareEvents:
    """One session and one commit per batch of events."""

    names = frozenset({fw.PROGRESS})

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def record(self, events: Sequence[DeviceEvent]) -> None:
        now = utcnow()
        with self._factory() as session:
            for event in events:
                progress = parse_progress(event.device_id, event.detail)
                if progress is not None:
                    record_progress(session, device_id=event.device_id, progress=progress, now=now)
            session.commit()
