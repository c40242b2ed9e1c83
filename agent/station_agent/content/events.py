"""Event sinks of the sync engine: the MQTT outbox (the agent) or JSON lines (the sideload CLI)."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, TextIO

from station_protocol import Channel, Event, encode, make, topic

from ..outbox import Outbox


class OutboxEvents:
    """``content.*`` events go out store-and-forward like every other uplink."""

    def __init__(self, outbox: Outbox, device_id: str) -> None:
        self._outbox = outbox
        self._device_id = device_id

    def emit(self, name: str, severity: str, detail: Dict[str, Any]) -> None:
        body = Event(name=name, severity=severity, detail=detail)
        self._outbox.put("event", topic(self._device_id, Channel.EVENT), encode(make(self._device_id, body)))


class JsonLinesEvents:
    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self._stream = stream

    def emit(self, name: str, severity: str, detail: Dict[str, Any]) -> None:
        self._stream.write(json.dumps({"name": name, "severity": severity, "detail": detail}) + "\n")
        self._stream.flush()
