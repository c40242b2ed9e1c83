"""The broker link: the agent's only paho importer; everything above speaks ``Link`` and ``PublishHandle``.

Why a network thread of our own (``client.loop()``) instead of ``loop_start()``: paho's built-in
reconnect would reuse the will of the first session, while every connect here gets a new persisted
session number in both the will and the birth, and a jittered backoff so a fleet does not reconnect in
lockstep. Paho callbacks only set events or enqueue; the birth, subscriptions and the graceful death are
sent by this thread between ``loop()`` calls.

``load_paho`` imports paho's client without the parts of the standard library it loads but this link
never uses (see there), when the first ``MqttLink`` is made.
"""

from __future__ import annotations

import functools
import importlib
import logging
import queue
import sys
import threading
import time
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Protocol

from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from station_protocol import Birth, Channel, Death, encode, make, now_ms, topic

from .backoff import backoff_delay

if TYPE_CHECKING:
    import paho.mqtt.client as paho

log = logging.getLogger(__name__)

PAHO_CLIENT = "paho.mqtt.client"
# Optional in paho (it catches the ImportError) and never used here: PySocks (proxies), dnspython (SRV).
ABSENT = ("socks", "dns")
# paho imports urllib.request only to read proxy settings, which it consults only when PySocks is
# present (``Client._get_proxy``); the real module drags in http.client, email and tempfile (~1.5 MB
# RSS). paho's ssl import stays: ``Client._sock_recv`` evaluates ``ssl.SSLWantReadError`` even without TLS.
PLACEHOLDER = "urllib.request"


def load_paho() -> types.ModuleType:
    """paho's client module, imported without the modules above on first use.

    They are hidden only while paho's module body runs; every later importer (enrollment, the content
    fetcher) gets the real ones. With PySocks absent paho never looks at its urllib.request reference.
    """
    loaded = sys.modules.get(PAHO_CLIENT)
    if loaded is not None:
        return loaded
    hidden: Dict[str, Any] = {name: None for name in ABSENT if name not in sys.modules}  # None: ImportError
    if PLACEHOLDER not in sys.modules:
        hidden[PLACEHOLDER] = types.ModuleType(PLACEHOLDER, "placeholder while paho loads (proxies unused)")
    sys.modules.update(hidden)
    try:
        return importlib.import_module(PAHO_CLIENT)
    finally:
        for name in hidden:
            sys.modules.pop(name, None)


def _no_ack() -> None:
    """Acknowledgement of a message that needs none (QoS 0, or a test fake)."""


@dataclass(frozen=True)
class Inbound:
    """One message received from the broker; call ``ack`` once it was processed (and its result committed)."""

    topic: str
    payload: bytes
    received_ms: int
    ack: Callable[[], None] = _no_ack


class PublishHandle(Protocol):
    def wait(self, timeout: float) -> bool:
        """True once the broker acknowledged the message (PUBACK for QoS 1)."""
        ...


class Link(Protocol):
    """What the rest of the agent needs from a broker connection."""

    inbound: queue.Queue[Inbound]

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def is_connected(self) -> bool: ...

    def wait_connected(self, timeout: float) -> bool: ...

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> PublishHandle: ...


@dataclass(frozen=True)
class LinkOptions:
    device_id: str
    host: str
    port: int
    username: str
    password: str
    tls: bool = False
    ca_file: str = ""
    keepalive: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    session_expiry_s: int = 7 * 24 * 3600
    connect_timeout_s: float = 10.0


class MqttPublishHandle:
    """Wraps paho's MQTTMessageInfo so callers never touch paho types."""

    def __init__(self, info: paho.MQTTMessageInfo) -> None:
        self._info = info

    def wait(self, timeout: float) -> bool:
        try:
            self._info.wait_for_publish(timeout)
            return self._info.is_published()
        except (RuntimeError, ValueError):
            return False


class MqttLink:
    """MQTT 5 session for one device: will, birth, own subscriptions, reconnect with jittered backoff."""

    def __init__(
        self, options: LinkOptions, *, next_session: Callable[[], int], birth: Callable[[int], Birth]
    ) -> None:
        self.inbound: queue.Queue[Inbound] = queue.Queue(maxsize=1000)
        self._opts = options
        self._next_session = next_session
        self._birth = birth
        self._state_topic = topic(options.device_id, Channel.STATE)
        self._stop = threading.Event()
        self._connack = threading.Event()
        self._ready = threading.Event()
        self._refused: Optional[str] = None
        self._thread: Optional[threading.Thread] = None
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        opts = self._opts
        mqtt = load_paho()
        client: paho.Client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=opts.device_id, protocol=mqtt.MQTTv5
        )
        client.username_pw_set(opts.username, opts.password)
        if opts.tls:
            client.tls_set(ca_certs=opts.ca_file or None)
        client.connect_timeout = opts.connect_timeout_s
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        # PUBACK only after the worker committed the result: a crash mid-command means redelivery
        # (the persistent session keeps it) and the applied-id table turns a repeat into "already_applied".
        client.manual_ack_set(True)
        # A registered write hook stops paho from writing to the socket from publisher threads;
        # every write then happens in loop() on our network thread (as it would under loop_start()).
        client.on_socket_register_write = _ignore_socket_hook
        return client

    # -- paho callbacks: only set events / enqueue ------------------------------------------------
    def _on_connect(self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
        else:
            self._connack.set()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, _reason: ReasonCode, _p: Any) -> None:
        self._ready.clear()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        try:
            ack = functools.partial(self._ack, msg.mid, msg.qos) if msg.qos else _no_ack
            self.inbound.put_nowait(Inbound(msg.topic, bytes(msg.payload), now_ms(), ack))
        except queue.Full:
            log.error("%s: inbound queue full; dropped a message on %s", self._opts.device_id, msg.topic)

    def _ack(self, mid: int, qos: int) -> None:
        self._client.ack(mid, qos)

    # -- Link API ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish a graceful death (when connected), disconnect and join the network thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + self._opts.connect_timeout_s)

    def is_connected(self) -> bool:
        return self._ready.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> PublishHandle:
        return MqttPublishHandle(self._client.publish(topic, payload, qos=qos, retain=retain))

    # -- network thread ------------------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                if self._session_once():
                    attempt = 0
            except Exception:  # the link must outlive any surprise; the next attempt starts clean
                log.exception("%s: broker session failed unexpectedly", self._opts.device_id)
            delay = backoff_delay(attempt, self._opts.reconnect_min_s, self._opts.reconnect_max_s)
            attempt += 1
            if not self._stop.is_set():
                log.info("%s: reconnecting in %.1fs", self._opts.device_id, delay)
            self._stop.wait(delay)

    def _session_once(self) -> bool:
        """Connect, serve until the connection ends; True when the broker accepted us."""
        opts = self._opts
        session = self._next_session()
        self._client.will_set(self._state_topic, self._death(session, graceful=False), qos=1, retain=True)
        self._connack.clear()
        self._refused = None
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = opts.session_expiry_s
        try:
            self._client.connect(opts.host, opts.port, opts.keepalive, clean_start=False, properties=props)
        except (OSError, ValueError) as exc:
            log.warning("%s: cannot reach broker %s:%s: %s", opts.device_id, opts.host, opts.port, exc)
            return False
        accepted = self._serve(session)
        self._ready.clear()
        return accepted

    def _serve(self, session: int) -> bool:
        announced = False
        deadline = time.monotonic() + self._opts.connect_timeout_s
        while True:
            rc = self._client.loop(timeout=0.2)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                log.warning("%s: connection lost (%s)", self._opts.device_id, load_paho().error_string(rc))
                break
            if self._refused is not None:
                log.error(
                    "%s: broker refused the connection: %s; check the credentials",
                    self._opts.device_id,
                    self._refused,
                )
                break
            if not announced and self._connack.is_set():
                self._announce(session)
                announced = True
            elif not announced and time.monotonic() > deadline:
                log.warning("%s: no CONNACK within %.0fs", self._opts.device_id, self._opts.connect_timeout_s)
                break
            if self._stop.is_set():
                self._goodbye(session, announced)
                break
        self._client.disconnect()
        return announced

    def _announce(self, session: int) -> None:
        dev = self._opts.device_id
        payload = encode(make(dev, self._birth(session)))
        self._client.publish(self._state_topic, payload, qos=1, retain=True)
        qos1 = SubscribeOptions(qos=1)
        self._client.subscribe([(topic(dev, Channel.CMD), qos1), (topic(dev, Channel.CONFIG_DESIRED), qos1)])
        self._ready.set()
        log.info("%s: connected to %s:%s, session %d", dev, self._opts.host, self._opts.port, session)

    def _goodbye(self, session: int, announced: bool) -> None:
        if announced:
            info = self._client.publish(
                self._state_topic, self._death(session, graceful=True), qos=1, retain=True
            )
            deadline = time.monotonic() + 5.0
            while not info.is_published() and time.monotonic() < deadline:
                if self._client.loop(timeout=0.1) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
        self._client.disconnect()  # reason 0: the broker discards the will
        self._client.loop(timeout=0.1)
        log.info("%s: disconnected gracefully, session %d", self._opts.device_id, session)

    def _death(self, session: int, *, graceful: bool) -> bytes:
        return encode(make(self._opts.device_id, Death(session=session, graceful=graceful)))


def _ignore_socket_hook(_client: paho.Client, _userdata: Any, _sock: Any) -> None:
    """Write-interest hook; our network thread polls the socket itself."""
