"""The ingest worker: decode, validate, dedupe and route each uplink message; never crashes on input."""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from station_protocol import (
    Birth,
    ConfigReported,
    Death,
    Envelope,
    Event,
    ProtocolError,
    Result,
    Telemetry,
    decode_from,
)

from ..observability.metrics import IngestStats
from ..supervisor import SupervisedThread
from ..tsdb.lineproto import event_line, telemetry_lines
from .devices import KnownDevices
from .events import PORTAL_EVENTS, EventDispatcher, EventRoute, EventSink
from .presence import PresenceStore
from .results import DeviceResult, ResultSink

log = logging.getLogger(__name__)
Message = tuple[str, bytes, float]  # topic, payload, receive time (epoch seconds)
_DOWNLINK_SUFFIXES = ("/cmd", "/config/desired")
_DRAIN_BATCH = 1000
_MAX_PENDING_RESULTS = 10_000


class PointSink(Protocol):
    """Takes line-protocol points without blocking (TsdbWriter)."""

    def submit(self, lines: list[str]) -> None: ...


def topic_device(topic: str) -> str:
    """Best-effort device id from a topic, for logging a message that failed to decode."""
    parts = topic.split("/", 3)
    return parts[2] if len(parts) > 2 else "?"


class RecentIds:
    """Bounded LRU of (device_id, envelope id) pairs seen recently."""

    def __init__(self, capacity: int) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._capacity = max(1, capacity)

    def seen_before(self, key: tuple[str, str]) -> bool:
        """True if ``key`` was seen; records it either way."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return False


class Pipeline:
    """Routes decoded messages: telemetry → TSDB + presence, state → presence, result → commands."""

    def __init__(
        self,
        *,
        inbox: queue.Queue[Message],
        known: KnownDevices,
        presence: PresenceStore,
        points: PointSink,
        results: ResultSink | None,
        stats: IngestStats,
        dedup_window: int,
        portal_events: EventSink | None = None,
        event_routes: Sequence[EventRoute] = (),
    ) -> None:
        self._inbox = inbox
        self._known = known
        self._presence = presence
        self._points = points
        self._results = results
        self._stats = stats
        self._recent = RecentIds(dedup_window)
        self._pending_results: list[DeviceResult] = []
        portal = [EventRoute(PORTAL_EVENTS, portal_events)] if portal_events is not None else []
        self._events = EventDispatcher([*portal, *event_routes])
        self._stopping = threading.Event()
        self._thread = SupervisedThread(name="ingest-pipeline", target=self._run)
        stats.gauge("ingest_queue_depth", inbox.qsize)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Process everything already queued, then stop (bounded by ``timeout_s``)."""
        self._stopping.set()
        if self._thread.ident is not None:  # stop() without start() must not raise
            self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error(
                "ingest pipeline did not drain within %.1f s; %d messages left",
                timeout_s,
                self._inbox.qsize(),
            )

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not (self._stopping.is_set() and self._inbox.empty()):
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                self.flush_results()
                continue
            self.handle_safely(first)
            for _ in range(_DRAIN_BATCH):
                try:
                    self.handle_safely(self._inbox.get_nowait())
                except queue.Empty:
                    break
            self.flush_results()
        self.flush_results()

    def handle_safely(self, message: Message) -> None:
        try:
            self.handle(*message)
        except Exception:
            # A bug for one message must not stop ingest for the fleet.
            self._stats.inc("internal_errors")
            log.exception("%s: ingest failed on a message from %s", topic_device(message[0]), message[0])

    def handle(self, topic: str, payload: bytes, received_at: float) -> None:
        """Decode, validate and route one message."""
        if topic.endswith(_DOWNLINK_SUFFIXES):
            self._stats.inc("messages_ignored")
            return
        try:
            parsed, env = decode_from(topic, payload)
        except ProtocolError as exc:
            self._reject(topic_device(topic), exc.reason, str(exc))
            return
        device_id = parsed.device_id
        role = self._known.role_of(device_id)
        if role is None:
            self._reject(device_id, "unknown_device", "device is not enrolled (unknown or revoked)")
            return
        if self._recent.seen_before((device_id, env.id)):
            self._stats.inc("messages_duplicate")
            return
        self._route(device_id, role, env, received_at)

    def _reject(self, device_id: str, reason: str, detail: str) -> None:
        self._stats.inc_labeled("messages_rejected", reason)
        log.warning("%s: rejected message (%s): %s", device_id, reason, detail)

    def _route(self, device_id: str, role: str, env: Envelope, now: float) -> None:
        body = env.body
        if isinstance(body, Telemetry):
            self._points.submit(telemetry_lines(device_id, role, env.ts, body))
            self._presence.telemetry(device_id, body, env.ts, now)
        elif isinstance(body, Birth):
            log.info("%s: online (agent %s, session %d)", device_id, body.agent_version, body.session)
            self._presence.birth(device_id, body, now)
        elif isinstance(body, Death):
            if self._presence.death(device_id, body):
                log.info("%s: offline (session %d, graceful=%s)", device_id, body.session, body.graceful)
        elif isinstance(body, Result):
            self._presence.seen(device_id, now)
            if self._results is not None:
                self._pending_results.append((device_id, body))
        elif isinstance(body, ConfigReported):
            self._config_reported(device_id, body, now)
        elif isinstance(body, Event):
            self._event(device_id, role, env.ts, body, now)

    def _config_reported(self, device_id: str, body: ConfigReported, now: float) -> None:
        if body.status == "applied":
            self._presence.config_reported(device_id, body.version, now)
        else:
            self._presence.seen(device_id, now)
            log.warning("%s: rejected config version %d: %s", device_id, body.version, body.error)

    def _event(self, device_id: str, role: str, ts_ms: int, body: Event, now: float) -> None:
        level = logging.WARNING if body.severity in ("error", "critical") else logging.INFO
        log.log(level, "%s: event %s (%s) %s", device_id, body.name, body.severity, body.detail)
        self._stats.inc_labeled("device_events", body.severity)
        self._points.submit([event_line(device_id, role, ts_ms, body)])
        self._presence.seen(device_id, now)
        if self._events.wants(body.name):
            self._events.add(device_id, body.name, body.detail)

    def flush_results(self) -> None:
        """Write pending command results (and feature events) in one batch each; keep them on failure."""
        self._events.flush()
        if not self._pending_results or self._results is None:
            return
        batch, self._pending_results = self._pending_results, []
        try:
            self._results.record(batch)
        except Exception:
            log.exception("recording %d command results failed; will retry", len(batch))
            self._stats.inc("results_failed", len(batch))
            self._pending_results = (batch + self._pending_results)[-_MAX_PENDING_RESULTS:]
            return
        self._stats.inc("results_recorded", len(batch))
