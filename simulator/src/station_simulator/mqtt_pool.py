"""Many MQTT 5 sessions on one thread: paho's external-loop API driven by one ``selectors`` loop.

The simulator has its own paho adapter (the controller's ingest has another) because the two need
opposite things: the controller runs ONE client with paho's network thread, while the simulator runs
thousands of sessions per process, where a thread per client would exhaust memory and the scheduler.
Here each client's socket is registered in one selector and driven with loop_read / loop_write /
loop_misc; paho callbacks only append events to a list that the worker drains. This is the only
module of the simulator that imports paho.
"""

from __future__ import annotations

import logging
import selectors
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .errors import PoolError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionSpec:
    """One device session: its own client id and credential."""

    key: int
    client_id: str
    username: str
    password: str
    host: str
    port: int
    keepalive_s: int = 60


@dataclass(frozen=True)
class PoolEvent:
    """``kind``: connected | refused | lost | message | acked."""

    kind: str
    key: int
    topic: str = ""
    payload: bytes = b""
    detail: str = ""
    mid: int = 0


class MqttPool:
    """Sessions keyed by an int; all I/O happens in ``poll`` on the caller's thread."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._clients: dict[int, mqtt.Client] = {}
        self._events: list[PoolEvent] = []

    def open(
        self, spec: SessionSpec, will_topic: str, will_payload: bytes, subscriptions: Sequence[str]
    ) -> None:
        """Start a session (TCP connect now, CONNACK later as a ``connected`` event).

        Raises:
            PoolError: the TCP connection failed; retry later.
        """
        client = self._clients.get(spec.key) or self._new_client(spec, subscriptions)
        client.will_set(will_topic, will_payload, qos=1, retain=True)
        try:
            client.reconnect()
        except OSError as exc:
            raise PoolError(f"{spec.client_id}: cannot connect to {spec.host}:{spec.port}: {exc}") from exc

    def publish(
        self, key: int, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int | None:
        """Queue one message and return its mid (its ``acked`` event carries it); None when offline."""
        client = self._clients.get(key)
        if client is None or not client.is_connected():
            return None
        info = client.publish(topic, payload, qos=qos, retain=retain)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def drop(self, key: int) -> None:
        """Cut the TCP connection without DISCONNECT, so the broker publishes the will."""
        client = self._clients.get(key)
        sock = client.socket() if client else None
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("session %d: socket already gone", key)

    def close(self, key: int) -> None:
        """Graceful DISCONNECT (no will)."""
        client = self._clients.get(key)
        if client is not None and client.socket() is not None:
            client.disconnect()
            client.loop_write()

    def is_connected(self, key: int) -> bool:
        client = self._clients.get(key)
        return client is not None and client.is_connected()

    def poll(self, timeout: float) -> list[PoolEvent]:
        """Wait up to ``timeout`` for socket readiness, do the I/O, return what happened."""
        if self._selector.get_map():
            for selkey, mask in self._selector.select(timeout):
                client: mqtt.Client = selkey.data
                if mask & selectors.EVENT_READ:
                    client.loop_read()
                if mask & selectors.EVENT_WRITE and client.socket() is not None:
                    client.loop_write()
        events = list(self._events)
        self._events.clear()  # cleared in place: the paho callbacks hold this very list
        return events

    def service(self) -> None:
        """Keepalive pings and timeouts; call about once a second."""
        for client in self._clients.values():
            if client.socket() is not None:
                client.loop_misc()

    def _new_client(self, spec: SessionSpec, subscriptions: Sequence[str]) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=spec.client_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(spec.username, spec.password)
        client.user_data_set(spec.key)
        client.max_queued_messages_set(0)
        # connect_async only stores the address; every (re)connect then goes through reconnect().
        client.connect_async(spec.host, spec.port, keepalive=spec.keepalive_s, clean_start=True)
        self._wire_callbacks(client, tuple(subscriptions))
        self._wire_socket_callbacks(client)
        self._clients[spec.key] = client
        return client

    def _wire_callbacks(self, client: mqtt.Client, subscriptions: tuple[str, ...]) -> None:
        events = self._events

        def on_connect(c: mqtt.Client, key: int, _f: Any, rc: ReasonCode, _p: Properties | None) -> None:
            if rc.is_failure:
                events.append(PoolEvent("refused", key, detail=str(rc)))
                return
            for sub in subscriptions:
                c.subscribe(sub, qos=1)
            events.append(PoolEvent("connected", key))

        def on_disconnect(_c: mqtt.Client, key: int, _f: Any, rc: ReasonCode, _p: Properties | None) -> None:
            events.append(PoolEvent("lost", key, detail=str(rc)))

        def on_message(_c: mqtt.Client, key: int, msg: mqtt.MQTTMessage) -> None:
            events.append(PoolEvent("message", key, topic=msg.topic, payload=bytes(msg.payload)))

        def on_publish(_c: mqtt.Client, key: int, mid: int, _rc: ReasonCode, _p: Properties) -> None:
            events.append(PoolEvent("acked", key, mid=mid))

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        client.on_publish = on_publish

    def _wire_socket_callbacks(self, client: mqtt.Client) -> None:
        selector = self._selector

        def on_open(c: mqtt.Client, _u: Any, sock: Any) -> None:
            selector.register(sock, selectors.EVENT_READ, c)

        def on_close(_c: mqtt.Client, _u: Any, sock: Any) -> None:
            if _registered(selector, sock):
                selector.unregister(sock)

        def on_want_write(c: mqtt.Client, _u: Any, sock: Any) -> None:
            if _registered(selector, sock):
                selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

        def on_written(c: mqtt.Client, _u: Any, sock: Any) -> None:
            if _registered(selector, sock):
                selector.modify(sock, selectors.EVENT_READ, c)

        client.on_socket_open = on_open
        client.on_socket_close = on_close
        client.on_socket_register_write = on_want_write
        client.on_socket_unregister_write = on_written


def _registered(selector: selectors.BaseSelector, sock: Any) -> bool:
    try:
        selector.get_key(sock)
    except (KeyError, ValueError):
        return False
    return True
