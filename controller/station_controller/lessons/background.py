"""The lesson dispatcher: every ``interval_s`` tells the target STBs of lessons in their window to probe."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..settings import Settings
from .service import dispatch

log = logging.getLogger(__name__)


class LessonDispatcher:
    """STBs enrolled (or back online) during a lesson are told on the next round, not only at its start."""

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, publisher: Any, *, interval_s: float = 15.0
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._publisher = publisher
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again, after a stop: an app's lifespan may run more than once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name="lesson-dispatcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def run_once(self) -> int:
        with self._factory() as session:
            return dispatch(session, settings=self._settings, publisher=self._publisher)

    def _run(self, stop: threading.Event) -> None:
        while True:
            try:
                sent = self.run_once()
                if sent:
                    log.info("lesson dispatcher: %d STBs told to probe", sent)
            except Exception:  # a DB outage must not end the thread; the next round tries again
                log.exception("lesson dispatcher round failed")
            if stop.wait(self._interval_s):
                return
