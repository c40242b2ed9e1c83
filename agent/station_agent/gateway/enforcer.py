"""Local enforcement and accounting: expiry / quota / idle decisions and the periodic loop that runs them.

Works with the controller unreachable: decisions need only the session row, the nft counters and the
clock; the resulting ``portal.session_ended`` and ``portal.accounting`` events wait in the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence

from .sessions import Session

log = logging.getLogger(__name__)

ACCOUNTING_CHUNK = 200  # sessions per event: ~150 bytes each stays far below the 64 KiB message limit
DEADLINE_SLACK_S = 0.05  # wake just after a deadline so ``decide`` sees it passed
OVERDUE_RETRY_S = 1.0  # pace of retries while a deadline has passed but the session could not be ended
STOP_POLL_S = 1.0  # longest sleep between looks at the stop event (agent shutdown stays quick)


def decide(session: Session, now_ms: int) -> Optional[str]:
    """Why the session must end now (``expired`` / ``quota`` / ``idle``), or None."""
    if now_ms >= session.expires_at:
        return "expired"
    if session.quota_bytes and session.bytes_up + session.bytes_down >= session.quota_bytes:
        return "quota"
    if session.idle_timeout_s and now_ms - session.last_activity_ms >= session.idle_timeout_s * 1000:
        return "idle"
    return None


def deadline_ms(session: Session) -> int:
    """The earliest time ``decide`` can end the session without new traffic: expiry or idle limit."""
    if session.idle_timeout_s:
        return min(session.expires_at, session.last_activity_ms + session.idle_timeout_s * 1000)
    return session.expires_at


def accounting_entry(session: Session) -> Dict[str, Any]:
    return {
        "session_id": session.session_id,
        "mac": session.mac,
        "ip": session.ip,
        "bytes_up": session.bytes_up,
        "bytes_down": session.bytes_down,
        "last_activity_ms": session.last_activity_ms,
    }


def accounting_details(sessions: Sequence[Session]) -> List[Dict[str, Any]]:
    """``portal.accounting`` event details, one per chunk of sessions (none when there is no session)."""
    entries = [accounting_entry(s) for s in sessions]
    return [{"sessions": entries[i : i + ACCOUNTING_CHUNK]} for i in range(0, len(entries), ACCOUNTING_CHUNK)]


class Enforced(Protocol):
    def enforce(self) -> int:
        """Read counters, end what must end; returns how many sessions ended."""
        ...

    def account(self) -> int:
        """Queue accounting events; returns how many sessions were reported."""
        ...

    def seconds_to_deadline(self) -> Optional[float]:
        """Seconds until the next expiry / idle deadline (<= 0: due), None when no session has one."""
        ...


class EnforcerLoop:
    """Runs ``enforce`` at the next session deadline, at least every ``check_interval_s`` (quota and
    traffic checks), and ``account`` every ``accounting_interval_s``; ``wake`` re-plans at once."""

    def __init__(
        self,
        target: Enforced,
        *,
        check_interval_s: float,
        accounting_interval_s: float,
        device_id: str = "",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._check = check_interval_s
        self._accounting = accounting_interval_s
        self._device_id = device_id
        self._monotonic = monotonic
        self._next_accounting = monotonic() + accounting_interval_s
        self._wake = threading.Event()

    def delay(self) -> float:
        """Seconds to sleep: just past the next deadline, at most the interval; 1 s while one is overdue."""
        try:
            due = self._target.seconds_to_deadline()
        except Exception:
            log.exception("%s: portal deadline lookup failed", self._device_id)
            due = None
        if due is None:
            return self._check
        if due < 0:  # overdue: the last round failed to end it; retry without spinning
            return min(self._check, OVERDUE_RETRY_S)
        return min(self._check, due + DEADLINE_SLACK_S)

    def wake(self) -> None:
        """Sessions changed (new or shorter deadlines): the sleeping loop plans its next round again."""
        self._wake.set()

    def step(self) -> None:
        """One round; a failure is logged and the loop goes on (the next round retries)."""
        try:
            self._target.enforce()
        except Exception:
            log.exception("%s: portal enforcement round failed", self._device_id)
        if self._monotonic() < self._next_accounting:
            return
        self._next_accounting = self._monotonic() + self._accounting
        try:
            self._target.account()
        except Exception:
            log.exception("%s: portal accounting failed", self._device_id)

    def run(self, stop: threading.Event) -> None:
        due = self._monotonic() + self.delay()
        while not stop.is_set():
            left = due - self._monotonic()
            if left <= 0:
                self.step()
                due = self._monotonic() + self.delay()
            elif self._wake.wait(min(left, STOP_POLL_S)):
                self._wake.clear()
                due = min(due, self._monotonic() + self.delay())
