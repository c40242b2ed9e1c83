"""Fake of the controller's ``CommandPublisher`` (the MQTT client in production)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakePublisher:
    """Records what would go to the broker, or fails like a disconnected client when ``fail`` is set."""

    sent: list[dict[str, object]] = field(default_factory=list)
    fail: bool = False

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, expiry_s: float | None) -> None:
        if self.fail:
            raise ConnectionError("not connected")
        self.sent.append(
            {"topic": topic, "payload": payload, "qos": qos, "retain": retain, "expiry_s": expiry_s}
        )

    def ready(self) -> bool:
        """Connected unless told to fail (the outbox checks it before a use case that must answer)."""
        return not self.fail
