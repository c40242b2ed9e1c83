"""Ingest errors.

IngestError
 └── BrokerUnavailable   the controller is not connected to the broker right now (retryable: try again
                         once ``IngestRuntime.ready()`` is true; check the broker and mqtt_* settings)
"""

from __future__ import annotations

from ..errors import StationError


class IngestError(StationError):
    """Base of ingest failures."""


class BrokerUnavailable(IngestError):
    """Publishing is impossible until the MQTT connection is back."""

    retryable = True
