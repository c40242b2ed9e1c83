"""Per-device credentials and ACLs, enforced by the real Mosquitto with our generated files."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from tests.support import BrokerHandle, MqttTestClient, wait_until

pytestmark = pytest.mark.integration

Connect = Callable[..., MqttTestClient]


@pytest.fixture
def clients() -> Iterator[list[MqttTestClient]]:
    """Collects clients made by a test and closes them afterwards."""
    made: list[MqttTestClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def connect(broker: BrokerHandle, clients: list[MqttTestClient]) -> Connect:
    def _connect(username: str | None, password: str | None, client_id: str | None = None) -> MqttTestClient:
        client = broker.client(username, password, client_id)
        clients.append(client)
        client.connect()
        return client

    return _connect


def _controller(connect: Connect, broker: BrokerHandle) -> MqttTestClient:
    controller: MqttTestClient = connect(broker.controller_username, broker.controller_password)
    assert not controller.connack.is_failure, controller.connack
    return controller


def _failed(code: ReasonCode) -> bool:
    return code.is_failure


def test_anonymous_client_is_refused(connect: Connect) -> None:
    client = connect(None, None)

    assert _failed(client.connack), client.connack


def test_wrong_password_is_refused(connect: Connect, broker: BrokerHandle) -> None:
    broker.add_device("sec-wrongpw-1")

    client = connect("sec-wrongpw-1", "not-the-password-at-all")

    assert _failed(client.connack)
    assert client.connack.getName() in {"Bad user name or password", "Not authorized"}


def test_device_publishes_on_own_prefix_and_controller_receives(
    connect: Connect, broker: BrokerHandle
) -> None:
    password = broker.add_device("sec-own-a")
    controller = _controller(connect, broker)
    assert not any(_failed(c) for c in controller.subscribe("st/v1/+/#"))
    device = connect("sec-own-a", password)

    for channel in ("state", "telemetry", "event", "result", "config/reported"):
        assert not _failed(device.publish(f"st/v1/sec-own-a/{channel}", channel))

    def from_a() -> list[str]:
        return [m.topic for m in controller.received() if m.topic.startswith("st/v1/sec-own-a/")]

    wait_until(lambda: len(from_a()) == 5)
    assert from_a() == [
        f"st/v1/sec-own-a/{c}" for c in ("state", "telemetry", "event", "result", "config/reported")
    ]


def test_controller_shared_subscription_receives_uplinks(connect: Connect, broker: BrokerHandle) -> None:
    password = broker.add_device("sec-shared-a")
    controller = _controller(connect, broker)
    assert not any(_failed(c) for c in controller.subscribe("$share/controller/st/v1/+/#"))
    device = connect("sec-shared-a", password)

    device.publish("st/v1/sec-shared-a/telemetry", b"t1")

    wait_until(lambda: controller.received("st/v1/sec-shared-a/telemetry"))


def test_device_cannot_publish_under_another_device(connect: Connect, broker: BrokerHandle) -> None:
    password_a = broker.add_device("sec-pub-a")
    broker.add_device("sec-pub-b")
    controller = _controller(connect, broker)
    controller.subscribe("st/v1/+/#")
    device_a = connect("sec-pub-a", password_a)

    spoofed = device_a.publish("st/v1/sec-pub-b/telemetry", b"spoofed")
    device_a.publish("st/v1/sec-pub-a/telemetry", b"sentinel")  # same session: delivered after the spoof

    wait_until(lambda: controller.received("st/v1/sec-pub-a/telemetry"))
    assert controller.received("st/v1/sec-pub-b/telemetry") == []
    assert _failed(spoofed), spoofed  # Mosquitto 2.0 answers MQTT 5 publishers with "Not authorized"


def test_device_cannot_write_downlinks_or_read_others(connect: Connect, broker: BrokerHandle) -> None:
    password_a = broker.add_device("sec-dl-a")
    controller = _controller(connect, broker)
    controller.subscribe("st/v1/#")
    device_a = connect("sec-dl-a", password_a)

    own_cmd = device_a.publish("st/v1/sec-dl-a/cmd", b"self-issued command")
    device_a.publish("st/v1/sec-dl-a/event", b"sentinel")

    wait_until(lambda: controller.received("st/v1/sec-dl-a/event"))
    assert controller.received("st/v1/sec-dl-a/cmd") == []
    assert _failed(own_cmd)


def test_device_cannot_receive_another_devices_commands(connect: Connect, broker: BrokerHandle) -> None:
    password_a = broker.add_device("sec-sub-a")
    broker.add_device("sec-sub-b")
    controller = _controller(connect, broker)
    device_a = connect("sec-sub-a", password_a)
    # Mosquitto 2.0's ACL file does not check SUBSCRIBE itself; it filters every delivery (read access).
    device_a.subscribe("st/v1/sec-sub-b/cmd")
    device_a.subscribe("st/v1/+/config/desired")
    device_a.subscribe("st/v1/sec-sub-a/cmd")

    controller.publish("st/v1/sec-sub-b/cmd", b"for b")
    controller.publish("st/v1/sec-sub-b/config/desired", b"for b")
    controller.publish("st/v1/sec-sub-a/cmd", b"for a")  # sentinel: same publisher, after the others

    wait_until(lambda: device_a.received("st/v1/sec-sub-a/cmd"))
    assert [m.topic for m in device_a.received()] == ["st/v1/sec-sub-a/cmd"]


def test_device_receives_own_commands_and_desired_config(connect: Connect, broker: BrokerHandle) -> None:
    password = broker.add_device("sec-cmd-a")
    controller = _controller(connect, broker)
    device = connect("sec-cmd-a", password)
    assert not any(_failed(c) for c in device.subscribe("st/v1/sec-cmd-a/cmd"))
    assert not any(_failed(c) for c in device.subscribe("st/v1/sec-cmd-a/config/desired"))

    assert not _failed(controller.publish("st/v1/sec-cmd-a/cmd", b"reboot"))
    assert not _failed(controller.publish("st/v1/sec-cmd-a/config/desired", b"v2"))

    wait_until(lambda: len(device.received()) == 2)
    assert [(m.topic, m.payload) for m in device.received()] == [
        ("st/v1/sec-cmd-a/cmd", b"reboot"),
        ("st/v1/sec-cmd-a/config/desired", b"v2"),
    ]


def test_removed_device_is_disconnected_at_once_and_cannot_reconnect(
    connect: Connect, broker: BrokerHandle
) -> None:
    password = broker.add_device("sec-revoke-a")
    keep_password = broker.add_device("sec-revoke-keep")
    device = connect("sec-revoke-a", password)
    bystander = connect("sec-revoke-keep", keep_password)
    assert not device.connack.is_failure

    broker.remove_device("sec-revoke-a")

    wait_until(lambda: device.disconnects, message="revoked device disconnected by SIGHUP re-check")
    assert bystander.disconnects == []
    again = connect("sec-revoke-a", password)
    assert _failed(again.connack)


def test_changed_password_disconnects_old_session(connect: Connect, broker: BrokerHandle) -> None:
    old = broker.add_device("sec-rotate-a")
    device = connect("sec-rotate-a", old)

    new = broker.add_device("sec-rotate-a")

    wait_until(lambda: device.disconnects, message="session with the old password disconnected")
    assert _failed(connect("sec-rotate-a", old).connack)
    assert not connect("sec-rotate-a", new).connack.is_failure
