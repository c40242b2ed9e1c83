"""The simulator against the real broker: 20 devices' births and telemetry reach a controller-account
subscriber, a dropped session's will arrives, and a ping command is answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from station_protocol import Birth, Command, Death, Result, Telemetry, decode_from, encode, make, now_ms
from station_protocol.enrollment import EnrollResponse
from station_simulator import InProcessSimulation, SimulationConfig
from tests.support import BrokerHandle, MqttTestClient, wait_until

pytestmark = pytest.mark.integration
DEVICES = 20


@pytest.fixture
def fleet(broker: BrokerHandle) -> list[EnrollResponse]:
    creds = []
    for i in range(DEVICES):
        device_id = f"stb-simtest-{i:04d}"
        password = broker.add_device(device_id)
        creds.append(
            EnrollResponse(
                device_id=device_id,
                role="stb",
                mqtt_host=broker.host,
                mqtt_port=broker.port,
                mqtt_username=device_id,
                mqtt_password=password,
            )
        )
    return creds


@pytest.fixture
def controller(broker: BrokerHandle) -> Iterator[MqttTestClient]:
    client = broker.controller_client()
    client.connect()
    client.subscribe("st/v1/+/#")
    yield client
    client.close()


def _bodies(client: MqttTestClient, kind: type) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for msg in client.received():
        if msg.topic.startswith("st/v1/stb-simtest-"):
            _parsed, env = decode_from(msg.topic, msg.payload)
            if isinstance(env.body, kind):
                out.append((env.dev, env.body))
    return out


def test_fleet_reports_and_a_dropped_session_leaves_its_will(
    fleet: list[EnrollResponse], controller: MqttTestClient
) -> None:
    config = SimulationConfig(
        credentials=tuple(fleet),
        interval_s=0.5,
        processes=0,
        reconnect_delay_s=(0.5, 1.0),
        report_interval_s=0.2,
    )
    with InProcessSimulation(config) as sim:
        wait_until(
            lambda: len({d for d, _ in _bodies(controller, Birth)}) == DEVICES, timeout=20, message="births"
        )
        wait_until(
            lambda: len({d for d, _ in _bodies(controller, Telemetry)}) == DEVICES,
            timeout=20,
            message="telemetry",
        )
        victim = fleet[3].device_id
        sim.drop(victim)
        deaths = wait_until(
            lambda: [b for d, b in _bodies(controller, Death) if d == victim], timeout=20, message="will"
        )
        assert isinstance(deaths[0], Death)
        assert deaths[0].graceful is False
        assert deaths[0].session == 1
        rebirths = wait_until(
            lambda: [b for d, b in _bodies(controller, Birth) if d == victim and b.session == 2],  # type: ignore[attr-defined]
            timeout=20,
            message="birth of session 2",
        )
        assert rebirths
        wait_until(lambda: sim.stats().reconnects >= 1, timeout=10, message="reconnect counted")

    seqs = [b.seq for d, b in _bodies(controller, Telemetry) if d == fleet[0].device_id]  # type: ignore[attr-defined]
    assert seqs == sorted(seqs)
    assert len(seqs) == len(set(seqs))


def test_ping_command_gets_a_result(fleet: list[EnrollResponse], controller: MqttTestClient) -> None:
    target = fleet[0].device_id
    config = SimulationConfig(credentials=(fleet[0],), interval_s=30.0, processes=0, report_interval_s=0.2)
    with InProcessSimulation(config) as sim:
        wait_until(lambda: sim.stats().connected == 1, timeout=20, message="connected")
        env = make(target, Command(name="ping", expires_at=now_ms() + 60_000))
        controller.publish(f"st/v1/{target}/cmd", encode(env))
        results = wait_until(
            lambda: [b for d, b in _bodies(controller, Result) if d == target], timeout=20, message="result"
        )
    assert isinstance(results[0], Result)
    assert (results[0].command_id, results[0].status) == (env.id, "ok")
