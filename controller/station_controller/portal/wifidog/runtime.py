"""WiFiDog runtime: keeps the in-memory state in step with committed rows and flushes counters in batches.

Every commit through the app's session factory that touches a wifidog ``PortalSession`` or a
``WifidogGateway`` (login, kick, extend, logout, gateway registration) updates memory right after the
commit; sessions loaded through it get the counters memory has not flushed yet (read-your-writes for the
staff API). A background thread writes changed counters about once a second in one statement, reloads the
gateways every few seconds and forgets sessions nobody asked about for a while.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from ...supervisor import SupervisedThread
from ..models import PortalSession, WifidogGateway
from .live import LiveGateways, LiveSessions, Row, snapshot

log = logging.getLogger(__name__)
_PENDING = "wifidog_pending"  # Session.info key: changes flushed in this transaction, applied on commit


class CountersRepository(Protocol):
    """Where batched counters go: one ``{"id", "bytes_up", "bytes_down", "last_activity_at"}`` per session."""

    def write_counters(self, rows: list[Row]) -> None: ...


class SqlCounters:
    """Counters written with one executemany UPDATE by primary key."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def write_counters(self, rows: list[Row]) -> None:
        with self._factory() as session:
            session.execute(update(PortalSession), rows)
            session.commit()


class WifidogRuntime:
    """The gateway and session caches of one app, their ORM hooks and the flush thread."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        repository: CountersRepository | None = None,
        flush_s: float = 1.0,
        refresh_s: float = 5.0,
        evict_idle_s: float = 900.0,
        probe_bytes: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = LiveSessions(probe_bytes=probe_bytes)
        self.gateways = LiveGateways()
        self.probe_bytes = probe_bytes  # counter growth per report that is the gateway's probes, not use
        self.clock = clock  # epoch seconds of every auth decision (tests drive idle and expiry with it)
        self._factory = factory
        self._repository = repository or SqlCounters(factory)
        self._flush_s, self._refresh_s, self._evict_idle_s = flush_s, refresh_s, evict_idle_s
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: SupervisedThread | None = None
        event.listen(factory, "after_flush", self._collect)
        event.listen(factory, "after_commit", self._apply)
        event.listen(factory, "after_rollback", self._discard)
        event.listen(factory, "loaded_as_persistent", self._overlay)

    # ORM hooks -------------------------------------------------------------------------------------

    def _collect(self, session: Session, _context: Any) -> None:
        pending: list[tuple[str, Any]] = session.info.setdefault(_PENDING, [])
        for obj in list(session.new) + list(session.dirty):
            if isinstance(obj, PortalSession) and obj.kind == "wifidog":
                pending.append(("session", (obj.token_hash, snapshot(obj))))
            elif isinstance(obj, WifidogGateway):
                pending.append(("gateway", (obj.gw_id, list(obj.allowed_sources or []))))
        for obj in session.deleted:
            if isinstance(obj, WifidogGateway):
                pending.append(("gateway_gone", obj.gw_id))

    def _apply(self, session: Session) -> None:
        for kind, change in session.info.pop(_PENDING, []):
            if kind == "session":
                self.sessions.apply(*change)
            elif kind == "gateway":
                self.gateways.put(*change)
            else:
                self.gateways.drop(change)

    def _discard(self, session: Session) -> None:
        session.info.pop(_PENDING, None)

    def _overlay(self, _session: Session, obj: Any) -> None:
        if not isinstance(obj, PortalSession) or obj.kind != "wifidog":
            return
        held = self.sessions.overlay(obj.id)
        if held is None:
            return
        up, down, activity = held
        set_committed_value(obj, "bytes_up", max(up, obj.bytes_up or 0))
        set_committed_value(obj, "bytes_down", max(down, obj.bytes_down or 0))
        if activity is not None:
            set_committed_value(obj, "last_activity_at", datetime.fromtimestamp(activity, UTC))

    # Loading (called from the thread pool) ---------------------------------------------------------

    def load(self, token_hashes: Iterable[str]) -> None:
        """Put the sessions of these token hashes into memory (unknown tokens stay out)."""
        wanted = sorted(set(token_hashes))
        if not wanted:
            return
        with self._factory() as session:
            stmt = select(PortalSession).where(PortalSession.token_hash.in_(wanted))
            records = list(session.scalars(stmt))
        for record in records:
            if record.kind == "wifidog":
                self.sessions.apply(record.token_hash, snapshot(record))

    def refresh_gateways(self) -> None:
        generation = self.gateways.generation()
        with self._factory() as session:
            rows = session.execute(select(WifidogGateway.gw_id, WifidogGateway.allowed_sources)).all()
        self.gateways.replace({gw: list(sources or []) for gw, sources in rows}, generation=generation)

    # Flushing --------------------------------------------------------------------------------------

    def flush_once(self) -> int:
        """Write every changed counter in one statement; on failure keep them for the next round."""
        with self._flush_lock:
            rows = self.sessions.take_dirty()
            if not rows:
                return 0
            try:
                self._repository.write_counters(rows)
            except Exception:
                log.exception("wifidog counters flush of %d sessions failed; retrying next round", len(rows))
                self.sessions.restore(rows)
                return 0
            return len(rows)

    def start(self) -> None:
        try:
            self.refresh_gateways()
        except Exception:
            log.exception("loading wifidog gateways failed; retrying in %.0f s", self._refresh_s)
        self._thread = SupervisedThread(name="wifidog-flush", target=self._run)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and write the last counters."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.flush_once()

    def _run(self) -> None:
        next_refresh = time.monotonic() + self._refresh_s
        while not self._stop.wait(self._flush_s):
            self.flush_once()
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self._refresh_s
                self._housekeeping()

    def _housekeeping(self) -> None:
        try:
            self.refresh_gateways()
        except Exception:
            log.exception("reloading wifidog gateways failed; keeping the previous set")
        dropped = self.sessions.evict(self._evict_idle_s)
        if dropped:
            log.debug("forgot %d idle wifidog sessions (%d held)", dropped, len(self.sessions))
