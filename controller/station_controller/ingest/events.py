"""Device events that features consume (portal, campaigns), batched by name and handed over per flush.

Each event carries the acknowledgement of its MQTT message (``on_done``), called after the feature's
batch committed; a failed batch keeps its events, unacknowledged, for the next flush.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from ..campaigns.device_events import DeviceEvent as CampaignEvent
from ..campaigns.device_events import apply_device_events, event_names
from ..campaigns.payloads import PayloadAction
from ..portal.records import RouterEvent, apply_router_events
from .acks import Latch

log = logging.getLogger(__name__)
PORTAL_EVENTS = frozenset({"portal.accounting", "portal.session_ended"})


@dataclass(frozen=True)
class DeviceEvent:
    device_id: str
    name: str
    detail: dict[str, Any]
    on_done: Callable[[], None] | None = field(default=None, compare=False, repr=False)


class EventSink(Protocol):
    """Stores a batch of events; raises to have the batch retried on the next flush."""

    def record(self, events: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class EventRoute:
    names: frozenset[str]
    sink: EventSink


class EventDispatcher:
    """The one place ingest hands events to features: per route a pending list, flushed as one batch
    (one transaction) per route, so no SQL is written per message. A failed batch is kept; it is bounded
    by the broker's in-flight window, as every pending event is an unacknowledged message."""

    def __init__(self, routes: Sequence[EventRoute]) -> None:
        self._routes = list(routes)
        self._pending: list[list[DeviceEvent]] = [[] for _ in self._routes]
        self._names = frozenset().union(*(route.names for route in self._routes))

    def wants(self, name: str) -> bool:
        return name in self._names

    def add(
        self, device_id: str, name: str, detail: dict[str, Any], on_done: Callable[[], None] | None = None
    ) -> None:
        """Queue an event for every route that wants it; ``on_done`` after the last of them committed."""
        indexes = [index for index, route in enumerate(self._routes) if name in route.names]
        if on_done is not None and len(indexes) > 1:
            on_done = Latch(len(indexes), on_done).part
        for index in indexes:
            self._pending[index].append(DeviceEvent(device_id, name, detail, on_done))
        if not indexes and on_done is not None:
            on_done()

    def flush(self) -> None:
        for index, route in enumerate(self._routes):
            batch, self._pending[index] = self._pending[index], []
            if not batch:
                continue
            try:
                route.sink.record(batch)
            except Exception:
                log.exception(
                    "recording %d events (%s) failed; will retry", len(batch), ",".join(sorted(route.names))
                )
                self._pending[index] = batch + self._pending[index]
                continue
            for event in batch:
                if event.on_done is not None:
                    event.on_done()


class SqlPortalEvents:
    """portal.records.apply_router_events in one session (one commit) per batch."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def record(self, events: Sequence[Any]) -> None:
        with self._factory() as session:
            apply_router_events(session, [RouterEvent(e.device_id, e.name, e.detail) for e in events])


class SqlCampaignEvents:
    """campaigns.device_events.apply_device_events in one session (one commit) per batch."""

    def __init__(self, session_factory: sessionmaker[Session], payloads: Mapping[str, PayloadAction]) -> None:
        self._factory = session_factory
        self._payloads = payloads

    @property
    def names(self) -> frozenset[str]:
        return event_names(self._payloads)

    def record(self, events: Sequence[Any]) -> None:
        with self._factory() as session:
            batch = [CampaignEvent(e.device_id, e.name, e.detail) for e in events]
            apply_device_events(session, payloads=self._payloads, events=batch)
