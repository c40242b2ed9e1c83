"""A real paho MQTT 5 client for tests that records CONNACKs, SUBACKs, PUBACKs, messages, disconnects."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .wait import wait_until

_ids = itertools.count(1)


@dataclass(frozen=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttTestClient:
    """One MQTT 5 session; callbacks only record, test code waits on what they recorded."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        client_id: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.client_id = client_id or f"test-{username or 'anon'}-{next(_ids)}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._lock = threading.Lock()
        self.connacks: list[ReasonCode] = []
        self.sessions_present: list[bool] = []  # CONNACK's session-present flag, one per connect
        self.disconnects: list[ReasonCode] = []
        self.messages: list[ReceivedMessage] = []
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._pubacks: dict[int, ReasonCode] = {}
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish

    # -- actions -------------------------------------------------------------------------------
    def connect(
        self, *, timeout: float = 10.0, clean_start: bool = True, session_expiry_s: int | None = None
    ) -> ReasonCode:
        """Connect (clean start unless told) and return the CONNACK reason code, success or not."""
        props = None
        if session_expiry_s is not None:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = session_expiry_s
        self._client.connect(self.host, self.port, keepalive=30, clean_start=clean_start, properties=props)
        self._client.loop_start()
        wait_until(
            lambda: self._last_connack() is not None, timeout=timeout, message=f"{self.client_id} CONNACK"
        )
        return self.connack

    def subscribe(self, topic: str, *, qos: int = 1, timeout: float = 10.0) -> list[ReasonCode]:
        """Subscribe and return the SUBACK reason codes."""
        result, mid = self._client.subscribe(topic, qos=qos)
        assert result == mqtt.MQTT_ERR_SUCCESS, f"subscribe not sent: {mqtt.error_string(result)}"
        assert mid is not None
        wait_until(lambda: mid in self._subacks, timeout=timeout, message=f"SUBACK for {topic}")
        return self._subacks[mid]

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False, timeout: float = 10.0
    ) -> ReasonCode:
        """Publish with QoS >= 1 and return the PUBACK reason code."""
        assert qos >= 1, "only QoS 1/2 publishes are acknowledged"
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish not sent: {mqtt.error_string(info.rc)}"
        wait_until(lambda: info.mid in self._pubacks, timeout=timeout, message=f"PUBACK for {topic}")
        return self._pubacks[info.mid]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    # -- what happened ---------------------------------------------------------------------------
    @property
    def connack(self) -> ReasonCode:
        """The latest CONNACK reason code (call after ``connect()``)."""
        last = self._last_connack()
        assert last is not None, f"{self.client_id} has not received a CONNACK"
        return last

    def _last_connack(self) -> ReasonCode | None:
        with self._lock:
            return self.connacks[-1] if self.connacks else None

    def received(self, topic: str | None = None) -> list[ReceivedMessage]:
        with self._lock:
            return [m for m in self.messages if topic is None or m.topic == topic]

    # -- paho callbacks (network thread: record only) ----------------------------------------
    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: ReasonCode, _p: Properties | None) -> None:
        with self._lock:
            self.sessions_present.append(bool(flags.session_present))
            self.connacks.append(reason)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None) -> None:
        with self._lock:
            self.disconnects.append(reason)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(ReceivedMessage(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain)))

    def _on_subscribe(
        self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Properties | None
    ) -> None:
        with self._lock:
            self._subacks[mid] = reasons

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Properties | None) -> None:
        with self._lock:
            self._pubacks[mid] = reason
