"""The outbound MQTT publisher as every command sender needs it (commands, portal, campaigns).

A Protocol below its users: ``ingest.mqtt_client.MqttIngestClient`` implements it, so a feature that
sends commands never imports ingest (or paho).
"""

from __future__ import annotations

from typing import Protocol


class CommandPublisher(Protocol):
    """The controller's MQTT client as the command service needs it (implemented by ingest)."""

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, expiry_s: float | None) -> None:
        """Queue one message; ``expiry_s`` becomes the MQTT 5 message expiry.

        Raises an exception (any) when the broker link is down; the caller reports DeviceUnreachable.
        """
        ...

    def ready(self) -> bool:
        """Connected to the broker now: a publish would be accepted (commands/outbox.py link_ready)."""
        ...
