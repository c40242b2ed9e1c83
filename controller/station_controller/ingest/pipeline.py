"""The ingest worker: decode, validate, dedupe and route each uplink message; never crashes on input.

Durable ingest: every message carries an ``Ack`` (acks.py) that is called once the message is stored —
telemetry and events when the TSDB writer has them, results and feature events after their commit,
state messages when presence took them — or at once when it is rejected, a duplicate or ignored.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

from station_protocol import (
    Birth,
    Channel,
    ConfigReported,
    Death,
    Envelope,
    Event,
    ProtocolError,
    Result,
    Telemetry,
    decode_from,
    now_ms,
)
from station_protocol.errors import TopicError
from station_protocol.topics import parse_topic

from ..observability.metrics import IngestStats
from ..supervisor import SupervisedThread
from ..tsdb.lineproto import event_line, telemetry_lines
from .acks import Ack, Latch, no_ack
from .budgets import BudgetLimits, DeviceBudgets, Quarantine
from .devices import KnownDevices
from .events import DeviceEventHandler, EventDispatcher
from .isolation import reason_of, write_isolating
from .labels import LabelBounds, registered_events
from .presence import PresenceStore
from .results import DeviceResult, ResultSink

log = logging.getLogger(__name__)
_DOWNLINK_SUFFIXES = ("/cmd", "/config/desired")
# docs/protocol.md §2: only these channels may carry retained messages.
RETAIN_ALLOWED = frozenset({Channel.STATE, Channel.CONFIG_REPORTED})
QUARANTINE_EVENT = "ingest.quarantined"
_DRAIN_BATCH = 1000


class Uplink(NamedTuple):
    """One message from the broker; a plain ``(topic, payload, received_at)`` tuple is one too."""

    topic: str
    payload: bytes
    received_at: float  # epoch seconds
    retained: bool = False
    ack: Ack | None = None


Message = Uplink | tuple[str, bytes, float]
RetainedClearer = Callable[[str], None]


class PointSink(Protocol):
    """Takes line-protocol points without blocking (TsdbWriter); ``on_done`` once all are stored."""

    def submit(self, lines: list[str], on_done: Callable[[], None] | None = None) -> None: ...


def topic_device(topic: str) -> str:
    """Best-effort device id from a topic, for logging a message that failed to decode."""
    parts = topic.split("/", 3)
    return parts[2] if len(parts) > 2 else "?"


class Seen(enum.Enum):
    NEW = "new"
    DONE = "done"  # stored before: acknowledge the copy at once
    PENDING = "pending"  # the first copy is still being stored: its completion acknowledges this one


Key = tuple[str, str]


class _Pending:
    __slots__ = ("since", "waiting")

    def __init__(self, since: float, waiting: list[Ack]) -> None:
        self.since = since
        self.waiting = waiting


class RecentIds:
    """(device_id, envelope id) pairs: a bounded LRU of stored ones and the ones still being stored.

    A copy redelivered while the first is still on its way to storage must not be acknowledged before
    the first is stored, or a crash in between would lose it; ``begin`` parks its ack until ``finish``.
    A first copy whose store never finishes (its handling raised, or the writer dropped its points)
    must not hold a redelivered copy forever: after ``stale_after_s`` the new copy is stored itself.
    """

    def __init__(
        self, capacity: int, *, stale_after_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: OrderedDict[Key, None] = OrderedDict()
        self._pending: dict[Key, _Pending] = {}
        self._capacity = max(1, capacity)
        self._stale_after = stale_after_s
        self._clock = clock
        self._lock = threading.Lock()  # finish() runs on the TSDB writer thread

    def seen_before(self, key: Key) -> bool:
        """True if ``key`` was seen; records it (as stored) either way."""
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
            self._remember(key)
            return False

    def begin(self, key: Key, ack: Ack) -> Seen:
        """Classify a message; for PENDING ``ack`` is kept and called when the first copy is stored."""
        now = self._clock()
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return Seen.DONE
            entry = self._pending.get(key)
            if entry is not None and now - entry.since < self._stale_after:
                entry.waiting.append(ack)
                return Seen.PENDING
            self._pending[key] = _Pending(now, entry.waiting if entry is not None else [])
            return Seen.NEW

    def finish(self, key: Key) -> None:
        """The first copy of ``key`` is stored: remember it and acknowledge the copies that waited."""
        with self._lock:
            entry = self._pending.pop(key, None)
            self._remember(key)
        for ack in entry.waiting if entry is not None else []:
            ack()

    def abandon(self, key: Key) -> None:
        """Storing ``key`` failed: forget it, so the broker's redelivery is handled afresh."""
        with self._lock:
            self._pending.pop(key, None)

    def _remember(self, key: Key) -> None:
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)


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
        event_handlers: Sequence[DeviceEventHandler] = (),
        budgets: BudgetLimits | None = None,
        clear_retained: RetainedClearer | None = None,
        redelivery_wait_s: float = 60.0,
        event_names: Iterable[str] | None = None,
    ) -> None:
        self._inbox = inbox
        self._known = known
        self._presence = presence
        self._points = points
        self._results = results
        self._stats = stats
        self.budgets = DeviceBudgets(budgets, on_quarantine=self.on_quarantine) if budgets else None
        self._clear_retained = clear_retained
        self._recent = RecentIds(dedup_window, stale_after_s=redelivery_wait_s)
        # Not bounded here: each entry is an unacknowledged message, so the broker's in-flight window
        # (settings.mqtt_receive_maximum) bounds them; dropping one would lose a broker-acked uplink.
        self._pending_results: list[tuple[DeviceResult, Ack]] = []
        self._events = EventDispatcher(event_handlers, stats)  # features' handlers (plugins.py)
        # TSDB tag values a device chooses are bounded (labels.py): registry names + handlers' names.
        names = registered_events() if event_names is None else frozenset(event_names)
        self.labels = LabelBounds(stats=stats, event_names=names | self._events.names)
        self._stopping = threading.Event()
        self._thread = SupervisedThread(name="ingest-pipeline", target=self._run)
        stats.gauge("ingest_queue_depth", inbox.qsize)
        stats.gauge("ingest_events_pending", self._events.pending)
        stats.gauge("ingest_results_pending", lambda: len(self._pending_results))

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
            # A bug for one message must not stop ingest for the fleet. Not acknowledged: the broker
            # redelivers it after a reconnect, when a fixed controller may store it.
            self._stats.inc("internal_errors")
            log.exception("%s: ingest failed on a message from %s", topic_device(message[0]), message[0])

    def handle(
        self, topic: str, payload: bytes, received_at: float, retained: bool = False, ack: Ack | None = None
    ) -> None:
        """Check budget and retain flag, decode, validate and route one message; ``ack`` once stored."""
        done = ack or no_ack
        if topic.endswith(_DOWNLINK_SUFFIXES):
            self._stats.inc("messages_ignored")
            done()
            return
        if not self._admitted(topic, payload, retained):
            done()
            return
        try:
            # ts is checked against the receive time (docs/protocol.md §3.1): reject telemetry, clamp others.
            parsed, env = decode_from(topic, payload, now_ms=int(received_at * 1000))
        except ProtocolError as exc:
            self._reject(topic_device(topic), exc.reason, str(exc))
            done()
            return
        if env.ts_clamped_from is not None:
            self._stats.inc("timestamps_clamped")
        device_id = parsed.device_id
        role = self._known.role_of(device_id)
        if role is None:
            self._reject(device_id, "unknown_device", "device is not enrolled (unknown or revoked)")
            done()
            return
        key = (device_id, env.id)
        seen = self._recent.begin(key, done)
        if seen is not Seen.NEW:
            self._stats.inc("messages_duplicate")
            if seen is Seen.DONE:
                done()
            return

        def stored() -> None:
            self._recent.finish(key)
            done()

        try:
            self._route(device_id, role, env, received_at, stored)
        except Exception:
            self._recent.abandon(key)
            raise

    def _admitted(self, topic: str, payload: bytes, retained: bool) -> bool:
        """Retain rule and per-device budget, before any decoding; False: refused (counted, clear)."""
        try:
            parsed = parse_topic(topic)
        except TopicError:
            return True  # decode reports bad_topic
        if retained and parsed.channel not in RETAIN_ALLOWED:
            if not payload:  # a retained message being cleared (ours, echoed back): nothing to store
                self._stats.inc("messages_ignored")
                return False
            self._reject(parsed.device_id, "retained_not_allowed", f"retained message on {topic}")
            self._clear(parsed.device_id, topic)
            return False
        if self.budgets is None or self._known.role_of(parsed.device_id) is None:
            return True  # unknown devices are rejected after decode, without a bucket of their own
        if self.budgets.admit(parsed.device_id, len(payload)):
            return True
        self._stats.inc_labeled("messages_rejected", "rate_limited")
        return False

    def _clear(self, device_id: str, topic: str) -> None:
        if self._clear_retained is None:
            return
        try:
            self._clear_retained(topic)
            self._stats.inc("retained_cleared")
        except Exception as exc:  # the broker re-sends it on our next subscribe; we clear it then
            log.warning("%s: could not clear the retained message on %s: %s", device_id, topic, exc)

    def on_quarantine(self, event: Quarantine) -> None:
        """DeviceBudgets callback: count it and store a device event staff see with the device's events."""
        self._stats.inc("devices_quarantined")
        role = self._known.role_of(event.device_id) or "unknown"
        detail = {"budget": event.reason, "quarantine_s": event.duration_s}
        body = Event(name=QUARANTINE_EVENT, severity="warning", detail=detail)
        self._points.submit([event_line(event.device_id, role, now_ms(), body)])

    def _reject(self, device_id: str, reason: str, detail: str) -> None:
        self._stats.inc_labeled("messages_rejected", reason)
        log.warning("%s: rejected message (%s): %s", device_id, reason, detail)

    def _route(self, device_id: str, role: str, env: Envelope, now: float, stored: Ack) -> None:
        body = env.body
        if isinstance(body, Telemetry):
            self._presence.telemetry(device_id, body, env.ts, now)
            bounded = self.labels.telemetry(device_id, body)
            self._points.submit(telemetry_lines(device_id, role, env.ts, bounded), on_done=stored)
            return
        if isinstance(body, Event):
            self._event(device_id, role, env.ts, body, now, stored)
            return
        if isinstance(body, Result):
            self._presence.seen(device_id, now)
            if self._results is not None:
                self._pending_results.append(((device_id, body), stored))
                return
        elif isinstance(body, Birth):
            log.info("%s: online (agent %s, session %d)", device_id, body.agent_version, body.session)
            self._presence.birth(device_id, body, now)
        elif isinstance(body, Death):
            if self._presence.death(device_id, body):
                log.info("%s: offline (session %d, graceful=%s)", device_id, body.session, body.graceful)
        elif isinstance(body, ConfigReported):
            self._config_reported(device_id, body, now)
        # State and config reports live in memory (presence) and are re-derived from the broker's
        # retained copies after a restart, so taking them into presence is storing them.
        stored()

    def _config_reported(self, device_id: str, body: ConfigReported, now: float) -> None:
        if body.status == "applied":
            self._presence.config_reported(device_id, body.version, now)
        else:
            self._presence.seen(device_id, now)
            log.warning("%s: rejected config version %d: %s", device_id, body.version, body.error)

    def _event(self, device_id: str, role: str, ts_ms: int, body: Event, now: float, stored: Ack) -> None:
        level = logging.WARNING if body.severity in ("error", "critical") else logging.INFO
        log.log(level, "%s: event %s (%s) %s", device_id, body.name, body.severity, body.detail)
        self._stats.inc_labeled("device_events", body.severity)
        self._presence.seen(device_id, now)
        line = [event_line(device_id, role, ts_ms, self.labels.event(device_id, body))]
        if not self._events.wants(body.name):
            self._points.submit(line, on_done=stored)
            return
        latch = Latch(2, stored)  # the TSDB point and the feature's commit
        self._points.submit(line, on_done=latch.part)
        self._events.add(device_id, body.name, body.detail, on_done=latch.part)

    def flush_results(self) -> None:
        """Write pending command results (and feature events) in one batch each. An outage keeps the
        unwritten ones for the next flush; a result the registry refuses alone is counted and dropped."""
        self._events.flush()
        if not self._pending_results or self._results is None:
            return
        batch, self._pending_results = self._pending_results, []
        results = self._results
        out = write_isolating(
            batch, lambda part: results.record([result for result, _ack in part]), device_of=lambda x: x[0][0]
        )
        if out.retry:
            log.warning("recording %d command results failed, will retry: %s", len(out.retry), out.error)
            self._stats.inc("results_failed", len(out.retry))
            self._pending_results = out.retry + self._pending_results
        self._stats.inc("results_recorded", len(out.written))
        for ((device_id, result), _ack), error in out.refused:
            self._stats.inc_labeled("results_rejected", reason_of(error))
            log.error(
                "%s: result of command %s refused by the registry, dropped: %s",
                device_id,
                result.command_id,
                error,
            )
        for _result, ack in [*out.written, *(item for item, _ in out.refused)]:
            ack()
