"""The hostile device's moves with its own valid credentials: client-id takeover, floods, oversize."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station_protocol import Channel, encode, make, topic

from .honest import sample
from .lab import Enrolled, Lab


@dataclass
class Takeover:
    """What a takeover loop achieved: CONNACKs, and any message it got that was not its own."""

    target: str
    connects: int = 0
    refused: int = 0
    stolen: list[str] = field(default_factory=list)  # topics of messages delivered to the attacker


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connacks: list[Any] = []
        self.disconnected = threading.Event()
        self.topics: list[str] = []
        self.acked = 0

    def on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self.lock:
            self.connacks.append(reason)

    def on_disconnect(self, _c: Any, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        self.disconnected.set()

    def on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.topics.append(msg.topic)

    def on_publish(self, _c: Any, _u: Any, _mid: int, _r: Any, _p: Any) -> None:
        with self.lock:
            self.acked += 1


def _client(lab: Lab, who: Enrolled, client_id: str, rec: _Recorder) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(who.username, who.password)
    client.on_connect = rec.on_connect
    client.on_disconnect = rec.on_disconnect
    client.on_message = rec.on_message
    client.on_publish = rec.on_publish
    return client


def _connect(lab: Lab, client: mqtt.Client, rec: _Recorder, *, clean_start: bool, timeout_s: float) -> bool:
    """Connect and wait for the CONNACK; True when the broker accepted the session."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600  # keep whatever session we grab, as an attacker would
    try:
        client.connect(lab.mqtt_host, lab.mqtt_port, keepalive=30, clean_start=clean_start, properties=props)
    except OSError:
        return False
    client.loop_start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not rec.connacks and not rec.disconnected.is_set():
        time.sleep(0.01)
    with rec.lock:
        return bool(rec.connacks) and not rec.connacks[-1].is_failure


def take_over(lab: Lab, who: Enrolled, target: str, *, rounds: int, hold_s: float) -> Takeover:
    """Connect ``rounds`` times with ``target`` as client id (resuming its session: clean start off),
    hold each connection ``hold_s`` and subscribe to everything, as a box fighting for the id would."""
    result = Takeover(target)
    for _ in range(rounds):
        rec = _Recorder()
        client = _client(lab, who, target, rec)
        try:
            if _connect(lab, client, rec, clean_start=False, timeout_s=5):
                result.connects += 1
                client.subscribe("st/v1/+/#", qos=1)
                time.sleep(hold_s)
            else:
                result.refused += 1
        finally:
            client.disconnect()
            client.loop_stop()
        own = f"st/v1/{who.device_id}/"
        result.stolen += [t for t in rec.topics if not t.startswith(own)]
    return result


@dataclass(frozen=True)
class Flood:
    sent: int
    acked: int
    disconnected: bool


def flood(lab: Lab, who: Enrolled, payloads: list[tuple[Channel, bytes]], *, deadline_s: float) -> Flood:
    """Publish every payload (QoS 1) as fast as paho can, then wait for PUBACKs (bounded)."""
    rec = _Recorder()
    client = _client(lab, who, who.device_id, rec)
    client.max_inflight_messages_set(1000)
    assert _connect(lab, client, rec, clean_start=True, timeout_s=10), (
        f"{who.device_id}: flood connect refused"
    )
    sent = 0
    end = time.monotonic() + deadline_s
    try:
        for channel, data in payloads:
            if rec.disconnected.is_set() or time.monotonic() > end:
                break
            info = client.publish(topic(who.device_id, channel), data, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            sent += 1
        while time.monotonic() < end and not rec.disconnected.is_set():
            with rec.lock:
                if rec.acked >= sent:
                    break
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    with rec.lock:
        return Flood(sent, rec.acked, rec.disconnected.is_set())


def telemetry_flood(device_id: str, count: int, first_seq: int) -> list[tuple[Channel, bytes]]:
    """``count`` valid samples of the hostile's own telemetry, 2 ms apart in device time."""
    start = int(time.time() * 1000) - 2 * count
    return [
        (Channel.TELEMETRY, encode(make(device_id, sample(first_seq + i), ts=start + 2 * i)))
        for i in range(count)
    ]


def oversized(lab: Lab, who: Enrolled, size: int) -> bool:
    """Publish one payload of ``size`` bytes; True when the broker dropped the connection for it."""
    rec = _Recorder()
    client = _client(lab, who, who.device_id, rec)
    assert _connect(lab, client, rec, clean_start=True, timeout_s=10)
    try:
        client.publish(topic(who.device_id, Channel.EVENT), b"{" + b" " * (size - 2) + b"}", qos=1)
        return rec.disconnected.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
