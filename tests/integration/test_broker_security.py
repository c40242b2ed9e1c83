"""Per-device credentials, ACLs and client ids bound to accounts, enforced by the real Mosquitto with our
generated files."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from station_controller.broker import generate_password, service_accounts
from station_protocol import Channel, encode, make, topic
from tests.integration.ingest_rig import device_client, make_registry, make_settings, running_ingest, sample
from tests.support import BrokerHandle, MqttTestClient, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration

Connect = Callable[..., MqttTestClient]
_accounts = itertools.count(1)


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
    """A client on its own controller account (a second client on one account would kick the first)."""
    username = f"{broker.controller_username}-sec-{next(_accounts)}"
    controller: MqttTestClient = connect(username, broker.add_service_account(username))
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


# --- Client id bound to the account (use_username_as_clientid) --------------------------------------
# Without the binding, connecting with a live client's id makes Mosquitto close the older connection
# ("Client <id> already connected, closing old connection"): any device could kick any other, or the
# controller's ingest. With it, the broker replaces the presented id with the username.

TAKEOVER_ROUNDS = 6


def _log_from(broker: BrokerHandle) -> Callable[[], str]:
    """The broker log written after this call (Mosquitto logs every connect and takeover)."""
    start = broker.service.log_file.stat().st_size
    return lambda: broker.service.log_file.read_bytes()[start:].decode("utf-8", errors="replace")


def test_device_presenting_another_devices_client_id_cannot_disconnect_it(
    connect: Connect, broker: BrokerHandle
) -> None:
    victim_password = broker.add_device("sec-id-victim")
    attacker_password = broker.add_device("sec-id-attacker")
    observer = _controller(connect, broker)
    observer.subscribe("st/v1/sec-id-victim/#")
    victim = connect("sec-id-victim", victim_password)
    victim.subscribe("st/v1/sec-id-victim/cmd")
    log = _log_from(broker)

    for n in range(TAKEOVER_ROUNDS):
        attacker = connect("sec-id-attacker", attacker_password, "sec-id-victim")
        assert not attacker.connack.is_failure  # accepted, but as its own account
        attacker.subscribe("st/v1/sec-id-victim/cmd")
        assert _failed(attacker.publish("st/v1/sec-id-victim/telemetry", b"forged"))
        assert not _failed(victim.publish("st/v1/sec-id-victim/telemetry", f"honest-{n}"))
        observer.publish("st/v1/sec-id-victim/cmd", f"cmd-{n}")
        wait_until(lambda n=n: len(victim.received("st/v1/sec-id-victim/cmd")) == n + 1)
        assert attacker.received() == []
        attacker.close()

    wait_until(lambda: len(observer.received("st/v1/sec-id-victim/telemetry")) == TAKEOVER_ROUNDS)
    payloads = [m.payload for m in observer.received("st/v1/sec-id-victim/telemetry")]
    assert payloads == [f"honest-{n}".encode() for n in range(TAKEOVER_ROUNDS)]
    assert (victim.disconnects, len(victim.connacks)) == ([], 1)
    wait_until(lambda: log().count(" as sec-id-attacker (") == TAKEOVER_ROUNDS, message="attacker logged")
    assert "Client sec-id-victim already connected" not in log()


def test_device_presenting_the_controllers_client_id_cannot_disconnect_the_ingest(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    honest_id, attacker_id = "stb-sec-honest", "stb-sec-attacker"
    factory = make_registry(tmp_path, [honest_id, attacker_id])
    settings = make_settings(tmp_path, broker, victoria)
    # The old default client id, the account name, and a worker's: none may be usable by a device.
    stolen_ids = [
        f"controller-{socket.gethostname()}",
        settings.mqtt_username,
        f"{settings.mqtt_username}-w1",
    ]
    attacker_password = broker.add_device(attacker_id)
    log = _log_from(broker)
    with running_ingest(settings, factory) as runtime:
        honest = device_client(broker, honest_id)
        try:
            for n in range(TAKEOVER_ROUNDS):
                attacker = broker.client(attacker_id, attacker_password, stolen_ids[n % len(stolen_ids)])
                assert not attacker.connect().is_failure
                assert not honest.publish(
                    topic(honest_id, Channel.TELEMETRY), encode(make(honest_id, sample(n + 1)))
                ).is_failure
                assert runtime.ready()
                attacker.close()
            rows = wait_until(
                lambda: _seqs(victoria, honest_id) == list(range(1, TAKEOVER_ROUNDS + 1)) or None,
                timeout=30,
                message="every honest sample stored",
            )
            assert rows
            assert runtime.ready()
        finally:
            honest.close()
    text = log()
    assert text.count(f" as {settings.mqtt_username} (") == 1, text  # the ingest connected once
    assert f"Client {settings.mqtt_username} already connected" not in text


def _seqs(victoria: VictoriaHandle, device_id: str) -> list[int]:
    rows = victoria.query(f'telemetry_seq{{device="{device_id}"}}[5m]')
    return sorted(int(float(value)) for row in rows for _, value in row.get("values", []))


def test_controller_processes_presenting_one_client_id_keep_their_own_sessions(
    connect: Connect, broker: BrokerHandle
) -> None:
    root = f"{broker.controller_username}-sec-proc-{next(_accounts)}"
    main_account, worker_account = service_accounts(root, generate_password(), ["w1"])
    processes = []
    for account in (main_account, worker_account):
        broker.add_service_account(account.username, account.password)
        process = connect(account.username, account.password, f"controller-{socket.gethostname()}")
        assert not process.connack.is_failure
        process.subscribe("st/v1/sec-proc-dev/telemetry")
        processes.append(process)
    device = connect("sec-proc-dev", broker.add_device("sec-proc-dev"))

    device.publish("st/v1/sec-proc-dev/telemetry", b"t1")

    for process in processes:
        wait_until(lambda p=process: p.received("st/v1/sec-proc-dev/telemetry"))
        assert process.disconnects == []


def test_controller_session_is_resumed_by_account_whatever_id_it_presents(
    connect: Connect, broker: BrokerHandle, clients: list[MqttTestClient]
) -> None:
    username = f"{broker.controller_username}-sec-resume-{next(_accounts)}"
    password = broker.add_service_account(username)
    first = broker.client(username, password, "first-id")
    assert not first.connect(clean_start=False, session_expiry_s=60).is_failure
    first.subscribe("st/v1/sec-resume-dev/telemetry")
    first.close()
    device = connect("sec-resume-dev", broker.add_device("sec-resume-dev"))
    device.publish("st/v1/sec-resume-dev/telemetry", b"queued while away")

    second = broker.client(username, password, "some-other-id")
    clients.append(second)
    assert not second.connect(clean_start=False, session_expiry_s=60).is_failure

    assert second.sessions_present == [True]
    wait_until(lambda: second.received("st/v1/sec-resume-dev/telemetry"))
    assert second.received()[0].payload == b"queued while away"


def _start_worker(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STATION_DATA_DIR": str(tmp_path),
        "STATION_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "STATION_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "STATION_MQTT_HOST": broker.host,
        "STATION_MQTT_PORT": str(broker.port),
        "STATION_MQTT_USERNAME": broker.controller_username,
        "STATION_MQTT_PASSWORD": broker.controller_password,
        "STATION_MQTT_INGEST_WORKERS": '["w1"]',
        "STATION_TSDB_URL": victoria.url,
    }
    cli = Path(sys.executable).parent / "station-controller"
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(cli), "serve", "--only", "ingest", "--worker", "w1"], env=env, stdout=out, stderr=out
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def test_ingest_worker_process_has_its_own_account_and_resumes_its_session(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, ["stb-sec-worker-dev"])  # one registry for both processes
    settings = make_settings(tmp_path, broker, victoria)
    worker = service_accounts(broker.controller_username, broker.controller_password, ["w1"])[1]
    broker.add_service_account(worker.username, worker.password)
    broker_log = _log_from(broker)
    worker_log = tmp_path / "worker.log"
    with running_ingest(settings, factory) as main:
        process = _start_worker(tmp_path, broker, victoria, worker_log)
        try:
            wait_until(lambda: "session present" in worker_log.read_text(), timeout=60, message="worker up")
            _stop(process)
            process = _start_worker(tmp_path, broker, victoria, worker_log)
            wait_until(
                lambda: "session present: True" in worker_log.read_text(), timeout=60, message="resumed"
            )
            assert main.ready()
        finally:
            _stop(process)
    text = broker_log()
    assert text.count(f" as {worker.username} (") == 2, text  # connected as itself, twice
    assert text.count(f" as {settings.mqtt_username} (") == 1, text  # the main ingest: once, never kicked
    assert "already connected" not in text
    assert f"MQTT connected as {worker.username}" in worker_log.read_text()
