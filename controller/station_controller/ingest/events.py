"""Device events that features consume, batched by name and handed over per flush.

The hub owns the contract: one :class:`DeviceEvent` type and the :class:`DeviceEventHandler` Protocol.
Features implement a handler next to their own code (``portal/device_events.py``,
``campaigns/device_events.py``) and the composition root (``plugins.py``) hands them to
``build_ingest``; this module imports no feature.

Each event carries the acknowledgement of its MQTT message (``on_done``), called after the handler's
batch committed; a failed batch keeps its events, unacknowledged, for the next flush.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .acks import Latch

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
    (one transaction) per handler, so no SQL is written per message. A failed batch is kept; it is
    bounded by the broker's in-flight window, as every pending event is an unacknowledged message."""

    def __init__(self, handlers: Sequence[DeviceEventHandler]) -> None:
        self._handlers = list(handlers)
        self._wanted = [handler.names for handler in self._handlers]  # read once: fixed per process
        self._pending: list[list[DeviceEvent]] = [[] for _ in self._handlers]
        self._names = frozenset().union(*self._wanted)

    def wants(self, name: str) -> bool:
        return name in self._names

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
            if not batch:
                continue
            try:
                handler.record(batch)
            except Exception:
                log.exception(
                    "recording %d events (%s) failed; will retry",
                    len(batch),
                    ",".join(sorted(self._wanted[index])),
                )
                self._pending[index] = batch + self._pending[index]
                continue
            for event in batch:
                if event.on_done is not None:
                    event.on_done()
