"""Bounds on the TSDB label values a device chooses, so one device cannot create unbounded series.

Every free-text value a device sends that becomes a TSDB tag is bounded here, before the point is built:

* event ``name``: a name the protocol registry (``station_protocol.contract.EVENTS``, extended by adding
  ``EVENT_SPECS`` to a protocol module) does not declare, nor a feature's handler wants, nor
  :data:`CONTROLLER_EVENTS` lists, is written as ``name="other"`` and counted in
  ``events_unregistered{device}``; the log line of the event keeps the real name;
* interface ``name`` (``iface_*{iface}``): each device may use at most ``max_ifaces`` distinct names in
  this process's lifetime; points of further names are written as ``iface="other"`` and counted in
  ``label_values_capped{device}``.

``device``, ``role`` and ``severity`` are bounded already (the registry, the protocol's enum).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from station_protocol import Event, Telemetry

from ..observability.metrics import IngestStats

OTHER = "other"
# Names outside the registry that are still worth a series of their own: the controller's own
# quarantine event and the reference agent's answer to an undecodable command.
CONTROLLER_EVENTS = frozenset({"ingest.quarantined", "bad_command"})
# The protocol allows 32 interfaces per sample; twice that leaves room for renamed or passing ones.
MAX_IFACES_PER_DEVICE = 64


def registered_events() -> frozenset[str]:
    """The protocol registry's event names (collected on first use)."""
    from station_protocol.contract import EVENTS

    return frozenset(EVENTS)


class LabelBounds:
    """Maps device-chosen label values to bounded ones; thread-safe, cheap on the hot path."""

    def __init__(
        self,
        *,
        stats: IngestStats,
        event_names: Iterable[str] | None = None,
        max_ifaces: int = MAX_IFACES_PER_DEVICE,
    ) -> None:
        self._stats = stats
        known = registered_events() if event_names is None else frozenset(event_names)
        self._events = known | CONTROLLER_EVENTS
        self._max_ifaces = max(1, max_ifaces)
        self._ifaces: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def event(self, device_id: str, body: Event) -> Event:
        """``body`` itself, or a copy named ``other`` when its name is not a known one."""
        if body.name in self._events:
            return body
        self._stats.inc_labeled("events_unregistered", device_id)
        return replace(body, name=OTHER)

    def telemetry(self, device_id: str, sample: Telemetry) -> Telemetry:
        """``sample`` itself, or a copy whose interfaces past the device's cap are named ``other``."""
        if not sample.interfaces:
            return sample
        capped = 0
        with self._lock:
            seen = self._ifaces.setdefault(device_id, set())
            names = []
            for iface in sample.interfaces:
                if iface.name not in seen and len(seen) < self._max_ifaces:
                    seen.add(iface.name)
                if iface.name in seen:
                    names.append(iface.name)
                else:
                    names.append(OTHER)
                    capped += 1
        if not capped:
            return sample
        self._stats.inc_labeled("label_values_capped", device_id, capped)
        interfaces = tuple(
            iface if name == iface.name else replace(iface, name=name)
            for iface, name in zip(sample.interfaces, names, strict=True)
        )
        return replace(sample, interfaces=interfaces)
