"""Through the real API and broker: commands round-trip to the real agent, enrollment, revocation."""

from __future__ import annotations

import json
import uuid

import pytest

from station_protocol import Channel, Telemetry, encode, make, topic
from tests.e2e.conftest import LiveStack
from tests.support import MqttTestClient, wait_until

pytestmark = pytest.mark.e2e

TELEMETRY = Telemetry(
    seq=1, interval_s=30, cpu_pct=1, load1=0, mem_total=1, mem_used=1, disk_total=1, disk_used=0, uptime_s=1
)


def test_ping_and_diagnostics_round_trip_to_the_real_agent(live_stack: LiveStack) -> None:
    wait_until(lambda: live_stack.device()["online"], timeout=60, interval=0.5, message="demo device online")
    with live_stack.api() as api:
        url = f"/api/v1/devices/{live_stack.demo_device_id}/commands"
        ping = api.post(url, params={"wait": 20}, json={"name": "ping", "args": {"echo": "你好"}})
        assert ping.status_code == 200, ping.text
        assert ping.json()["status"] == "ok"
        assert ping.json()["output"]["echo"] == {"echo": "你好"}
        diag = api.post(url, params={"wait": 30}, json={"name": "diagnostics"}).json()
        assert diag["status"] == "ok", diag
        history = api.get(url).json()
        assert [c["status"] for c in history["items"][:2]] == ["ok", "ok"]


def test_desired_config_is_applied_and_reported(live_stack: LiveStack) -> None:
    with live_stack.api() as api:
        url = f"/api/v1/devices/{live_stack.demo_device_id}/config"
        version = api.put(url, json={"config": {"telemetry": {"interval_s": 3}}}).json()[
            "desired_config_version"
        ]
    wait_until(
        lambda: live_stack.device()["reported_config_version"] == version,
        timeout=60,
        interval=0.5,
        message=f"agent reports config v{version}",
    )


def _client(live: LiveStack, username: str, password: str) -> MqttTestClient:
    s = live.stack.settings
    return MqttTestClient(host=s.mqtt_host, port=s.mqtt_port, username=username, password=password)


def test_enroll_publish_revoke_kicks_and_refuses(live_stack: LiveStack) -> None:
    serial = f"SN-{uuid.uuid4().hex[:8]}"
    with live_stack.api() as api:
        api.post(
            "/api/v1/stations",
            json={"code": f"t-{serial.lower()}", "name": "测试站", "region_path": "河南省/南阳市"},
        )
        created = api.post(
            "/api/v1/devices",
            json={"station_code": f"t-{serial.lower()}", "role": "router", "serial": serial},
        ).json()
        enroll = {"serial": serial, "token": created["token"]}
        creds = api.post("/api/v1/enroll", json=enroll).json()
        assert api.post("/api/v1/enroll", json=enroll).status_code == 401, "tokens are single-use"
    device_id, password = creds["device_id"], creds["mqtt_password"]

    device = _client(live_stack, device_id, password)
    assert not device.connect().is_failure
    assert not device.publish(
        topic(device_id, Channel.TELEMETRY), encode(make(device_id, TELEMETRY))
    ).is_failure
    wait_until(
        lambda: _device(live_stack, device_id)["latest"] is not None,
        timeout=30,
        message="the new device's telemetry reached the registry",
    )

    with live_stack.api() as api:
        assert api.post(f"/api/v1/devices/{device_id}/revoke").status_code == 200
    wait_until(lambda: device.disconnects, timeout=30, message="revoked device disconnected by the broker")
    device.close()
    again = _client(live_stack, device_id, password)
    try:
        assert again.connect().is_failure, "revoked credentials are refused"
    finally:
        again.close()


def _device(live: LiveStack, device_id: str) -> dict[str, object]:
    with live.api() as api:
        return dict(json.loads(api.get(f"/api/v1/devices/{device_id}").text))
