"""The controller's only paho importer: uplink subscriptions into a bounded queue, and command publishing.

Durable ingest: the client runs with paho's manual acknowledgements. Each queued uplink carries an
``Ack`` that sends its PUBACK once the pipeline stored it; until then the broker keeps it in flight for
us (up to ``mqtt_receive_maximum``, which our CONNECT announces) and redelivers it after a reconnect or
a controller crash.

The session is keyed by the account (the broker's ``use_username_as_clientid``), so this client cannot
reach the ``controller-<hostname>`` session an older controller left behind; it expires by itself
(``SESSION_EXPIRY_S``), and docs/architecture.md "Known limits" says how to drain it first.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from station_protocol import uplink_filter

from ..observability.metrics import IngestStats
from ..settings import Settings
from .acks import Ack
from .errors import BrokerUnavailable
from .pipeline import Message, Uplink

log = logging.getLogger(__name__)
# The broker keeps our subscriptions and queues QoS 1 uplinks this long while the controller is away.
SESSION_EXPIRY_S = 24 * 3600
STATE_FILTER = "st/v1/+/state"
_PUT_SLICE_S = 0.5


class MqttIngestClient:
    """Subscribes ``st/v1/+/#`` (single node), or ``$share/{group}/st/v1/+/#`` plus ``st/v1/+/state``
    (retained births/deaths are not delivered on shared subscriptions) when ``mqtt_share_group`` is set;
    callbacks only enqueue ``Uplink(topic, payload, received_at, retained, ack)``.

    Also the commands package's CommandPublisher (commands/publisher.py).
    """

    def subscriptions(self) -> list[str]:
        """One durable plain filter on a single node; shared filter + plain ``state`` when scaled out."""
        group = self._settings.mqtt_share_group
        if not group:
            return [uplink_filter()]
        return [uplink_filter(group), STATE_FILTER]

    def __init__(
        self,
        settings: Settings,
        inbox: queue.Queue[Message],
        stats: IngestStats,
        client_id: str,
    ) -> None:
        self._settings = settings
        self._inbox = inbox
        self._stats = stats
        self._client_id = client_id
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._accepting = threading.Event()
        self._accepting.set()
        # Message ids belong to one connection: an ack for an older one is dropped (the broker
        # redelivers that message on the new connection). The lock orders acks against reconnects.
        self._ack_lock = threading.Lock()
        self._generation = 0
        self._unacked = 0
        stats.gauge("ingest_unacked", lambda: self._unacked)
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.username_pw_set(self._settings.mqtt_username, self._settings.mqtt_password.get_secret_value())
        if self._settings.mqtt_tls_ca is not None:
            client.tls_set(ca_certs=str(self._settings.mqtt_tls_ca))
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background; paho reconnects with backoff (1 s doubling to 10 s)."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        # Without it Mosquitto allows only max_inflight_messages unacknowledged messages towards us,
        # and ack-after-store would run at that many per TSDB flush.
        props.ReceiveMaximum = self._settings.mqtt_receive_maximum
        self._client.connect_async(
            self._settings.mqtt_host,
            self._settings.mqtt_port,
            keepalive=self._settings.mqtt_keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    def pause(self) -> None:
        """Take no more messages (left unacknowledged, so the broker redelivers them after a restart);
        acks of messages already taken still go out until ``stop``."""
        self._accepting.clear()

    def stop(self) -> None:
        """Disconnect (the session stays on the broker, so uplinks queue until we are back)."""
        self._accepting.clear()
        self._closing.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def ready(self) -> bool:
        return self._connected.is_set()

    def wait_ready(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, expiry_s: float | None) -> None:
        """Publish one downlink; ``expiry_s`` becomes the MQTT 5 message expiry interval.

        Raises:
            BrokerUnavailable: not connected, or paho refused the message.
        """
        if not self._connected.is_set():
            raise BrokerUnavailable("controller is not connected to the MQTT broker; retry once it is back")
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if expiry_s is not None:
            props.MessageExpiryInterval = max(1, math.ceil(expiry_s))
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerUnavailable(f"publish to {topic} failed: {mqtt.error_string(info.rc)}; retry later")

    def clear_retained(self, topic: str) -> None:
        """Delete the broker's retained message on ``topic`` (an empty retained publish; QoS 0, as a
        lost clear is repeated when the message comes back on our next subscribe).

        Raises:
            BrokerUnavailable: not connected.
        """
        self.publish(topic, b"", qos=0, retain=True, expiry_s=None)

    def _ack(self, mid: int, qos: int, generation: int) -> None:
        """Send one PUBACK; called from the pipeline or the TSDB writer thread.

        paho's ``ack`` only appends the packet to its output deque and wakes the network thread (the
        same path ``publish`` takes from other threads), so it is safe off the network thread.
        """
        with self._ack_lock:
            self._unacked -= 1
            if generation != self._generation:
                self._stats.inc("acks_stale")
                return
            self._client.ack(mid, qos)

    # paho callbacks (network thread): no decoding, no I/O beyond subscribing.

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason_code: ReasonCode, _props: Any
    ) -> None:
        if reason_code.is_failure:
            log.error(
                "MQTT connect to %s:%d refused: %s",
                self._settings.mqtt_host,
                self._settings.mqtt_port,
                reason_code,
            )
            return
        with self._ack_lock:
            self._generation += 1
        # Retain-as-published: the pipeline must see a device's retain flag to enforce the retain rule.
        options = SubscribeOptions(qos=1, retainAsPublished=True)
        client.subscribe([(topic, options) for topic in self.subscriptions()])
        self._connected.set()
        log.info("MQTT connected as %s (session present: %s)", self._client_id, flags.session_present)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        self._connected.clear()
        with self._ack_lock:
            self._generation += 1
        if not self._closing.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not self._accepting.is_set():
            return  # stopping: left unacknowledged, redelivered to the next controller session
        self._stats.inc("messages_received")
        ack: Ack | None = None
        if message.qos > 0:
            with self._ack_lock:
                self._unacked += 1
                ack = partial(self._ack, message.mid, message.qos, self._generation)
        item = Uplink(message.topic, bytes(message.payload), time.time(), bool(message.retain), ack)
        # Block (back-pressure to the broker) rather than drop; wake up now and then to notice shutdown.
        while True:
            try:
                self._inbox.put(item, timeout=_PUT_SLICE_S)
                return
            except queue.Full:
                if self._closing.is_set():
                    log.error("ingest queue full while stopping; dropped a message on %s", message.topic)
                    return
