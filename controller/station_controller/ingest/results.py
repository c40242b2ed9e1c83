"""Hands command results to the commands package in batches and wakes API requests waiting on them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from station_protocol import Result

from ..commands.service import expire_overdue, record_results
from ..commands.waiters import ResultWaiters

log = logging.getLogger(__name__)

DeviceResult = tuple[str, Result]


class ResultSink(Protocol):
    """Stores a batch of (device_id, Result); raises to have the batch retried."""

    def record(self, results: Sequence[DeviceResult]) -> None: ...


class CommandResultSink:
    """commands.service.record_results in one session per batch, then wake the updated commands' waiters."""

    def __init__(self, session_factory: sessionmaker[Session], waiters: ResultWaiters) -> None:
        self._factory = session_factory
        self._waiters = waiters

    def record(self, results: Sequence[DeviceResult]) -> None:
        with self._factory() as session:
            updated = record_results(session, list(results))
        self._waiters.notify_many(updated)

    def expire_overdue(self) -> None:
        """Mark commands nobody answered before their expiry (called from the flusher's slow cadence)."""
        with self._factory() as session:
            expired = expire_overdue(session)
        if expired:
            log.info("%d unanswered commands expired", expired)
