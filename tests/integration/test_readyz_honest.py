"""/readyz is honest: 503 naming the TSDB writer while a VictoriaMetrics outage stalls writing, 200 after.

The real controller app with the real ingest, Mosquitto and a private VictoriaMetrics (stopped and
started here, so the session one other tests use stays up).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from station_controller.devstack import VictoriaService
from station_controller.ingest.runtime import build_ingest
from station_controller.main import create_app
from station_controller.settings import Settings
from station_protocol import Channel, encode, make, now_ms, topic
from tests.integration.ingest_rig import device_client, make_registry, sample
from tests.support import BrokerHandle, MqttTestClient, wait_until

pytestmark = pytest.mark.integration
DEVICE = "stb-readyz-a1"


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[VictoriaService]:
    service = VictoriaService(data_dir=tmp_path / "vm")
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _publish(device: MqttTestClient, seqs: range) -> None:
    base = now_ms() - 60_000
    for seq in seqs:
        device.publish(
            topic(DEVICE, Channel.TELEMETRY), encode(make(DEVICE, sample(seq), ts=base + seq * 10))
        )


def test_readyz_is_503_naming_the_writer_during_a_tsdb_outage_and_200_after(
    tmp_path: Path, broker: BrokerHandle, vm: VictoriaService
) -> None:
    factory = make_registry(tmp_path, [DEVICE])
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_username=broker.controller_username,
        mqtt_password=broker.controller_password,  # type: ignore[arg-type]
        tsdb_url=vm.url,
        tsdb_timeout_s=1.0,
        tsdb_retry_max_delay_s=0.3,
        tsdb_stall_after_s=1.0,
        ingest_flush_interval_s=0.2,
    )
    runtime = build_ingest(settings, factory)
    device = device_client(broker, DEVICE)
    try:
        with TestClient(create_app(settings, ingest=runtime)) as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, timeout=30, message="ready")
            _publish(device, range(0, 10))
            wait_until(lambda: runtime.stats.value("points_written") == 10, timeout=30, message="written")
            vm.stop()
            try:
                _publish(device, range(10, 20))
                reply = wait_until(
                    lambda: (r := client.get("/readyz")).status_code == 503 and r,
                    timeout=30,
                    message="503 while writing is stalled",
                )
                body = reply.json()
                assert body["checks"]["ingest"] is False
                assert body["checks"]["database"] is True
                assert "points waiting" in body["reasons"]["tsdb_writer"]
            finally:
                vm.start()
            wait_until(lambda: client.get("/readyz").status_code == 200, timeout=30, message="ready again")
            wait_until(lambda: runtime.stats.value("points_written") == 20, timeout=30, message="caught up")
            assert "reasons" not in client.get("/readyz").json()
    finally:
        device.close()
