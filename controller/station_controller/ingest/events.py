"""Device events that features consume, batched by name and handed over per flush.

The hub owns the contract: one :class:`DeviceEvent` type and the :class:`DeviceEventHandler` Protocol.
Features implement a handler next to their own code (``portal/device_events.py``,
``campaigns/device_events.py``) and the composition root (``plugins.py``) hands them to
``build_ingest``; this module imports no feature.

Each event carries the acknowledgement of its MQTT message (``on_done``), called after the handler's
batch committed. A batch that fails is isolated (isolation.py): an outage (``retryable``, a database
outage) keeps every unwritten event, unacknowledged, for the next flush; an event the handler refuses
on its own (a poison event) is counted in ``events_rejected{reason}``, logged with its device and
acknowledged, and the other devices' events of the batch are recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..observability.metrics import IngestStats
from .acks import Latch
from .isolation import reason_of, write_isolating

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceEvent:
    """One event a device sent (``Event.name`` and ``Event.detail``), as every handler receives it."""

    device_id: str
    name: str
    detail: Mapping[str, Any]
    on_done: Callable[[], None] | None = field(default=None, compare=False, repr=False)


class EventSink(Protocol):
    """Stores a batch of events; raises to have the batch retried on the next flush."""

    def record(self, events: Sequence[DeviceEvent]) -> None: ...


@runtime_checkable
class DeviceEventHandler(EventSink, Protocol):
    """A feature's consumer of device events: the names it wants and how it stores a batch of them."""

    @property
    def names(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class EventRoute:
    """Any sink with the names it wants: a DeviceEventHandler."""

    names: frozenset[str]
    sink: EventSink

    def record(self, events: Sequence[DeviceEvent]) -> None:
        self.sink.record(events)


class EventDispatcher:
    """The one place ingest hands events to features: per handler a pending list, flushed as one batch
    (one transaction) per handler, so no SQL is written per message. A batch that failed on an outage
    is kept; it is bounded by the broker's in-flight window, as every pending event is an
    unacknowledged message. A poison event is isolated by halving the batch and dropped alone."""

    def __init__(self, handlers: Sequence[DeviceEventHandler], stats: IngestStats | None = None) -> None:
        self._handlers = list(handlers)
        self._stats = stats if stats is not None else IngestStats()
        self._wanted = [handler.names for handler in self._handlers]  # read once: fixed per process
        self._pending: list[list[DeviceEvent]] = [[] for _ in self._handlers]
        self._names = frozenset().union(*self._wanted)

    @property
    def names(self) -> frozenset[str]:
        """Every name some handler wants."""
        return self._names

    def wants(self, name: str) -> bool:
        return name in self._names

    def pending(self) -> int:
        """Events waiting for a handler's commit (a gauge)."""
        return sum(len(batch) for batch in self._pending)

    def add(
        self, device_id: str, name: str, detail: dict[str, Any], on_done: Callable[[], None] | None = None
    ) -> None:
        """Queue an event for every handler that wants it; ``on_done`` after the last of them committed."""
        indexes = [index for index, names in enumerate(self._wanted) if name in names]
        if on_done is not None and len(indexes) > 1:
            on_done = Latch(len(indexes), on_done).part
        for index in indexes:
            self._pending[index].append(DeviceEvent(device_id, name, detail, on_done))
        if not indexes and on_done is not None:
            on_done()

    def flush(self) -> None:
        for index, handler in enumerate(self._handlers):
            batch, self._pending[index] = self._pending[index], []
            if batch:
                self._flush_one(index, handler, batch)

    def _flush_one(self, index: int, handler: DeviceEventHandler, batch: list[DeviceEvent]) -> None:
        out = write_isolating(batch, handler.record, device_of=lambda event: event.device_id)
        if out.retry:
            self._stats.inc("events_failed", len(out.retry))
            log.warning(
                "recording %d events (%s) failed, will retry: %s",
                len(out.retry),
                ",".join(sorted(self._wanted[index])),
                out.error,
            )
            self._pending[index] = out.retry + self._pending[index]
        if out.written:
            self._stats.inc("events_recorded", len(out.written))
        for event, error in out.refused:
            reason = reason_of(error)
            self._stats.inc_labeled("events_rejected", reason)
            log.error(
                "%s: event %s refused by its handler (%s), dropped: %s",
                event.device_id,
                event.name,
                reason,
                error,
            )
        for event in [*out.written, *(event for event, _ in out.refused)]:
            if event.on_done is not None:
                event.on_done()
