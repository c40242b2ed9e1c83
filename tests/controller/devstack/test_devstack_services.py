"""Dev stack services: VictoriaMetrics write/query/dedup/restart, Mosquitto restart, PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision

from station_controller.devstack import MosquittoService, PortInUse, VictoriaService
from tests.support import BrokerHandle, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration


def _write(victoria: VictoriaHandle, *points: Any) -> None:
    with InfluxDBClient(url=victoria.url, token="unused", org="station") as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket="station", record=list(points))


def _cpu(device: str, value: float, ts_ms: int) -> Any:
    make_point: Any = Point  # influxdb-client is untyped
    point = make_point("telemetry")
    return point.tag("device", device).field("cpu_pct", value).time(ts_ms, WritePrecision.MS)


def test_victoria_accepts_influx_writes_and_answers_promql(victoria: VictoriaHandle) -> None:
    now_ms = int(time.time() * 1000)
    _write(victoria, _cpu("dev-vm-1", 42.5, now_ms))

    rows = wait_until(lambda: victoria.query('telemetry_cpu_pct{device="dev-vm-1"}'))

    assert rows[0]["metric"]["device"] == "dev-vm-1"
    assert float(rows[0]["value"][1]) == 42.5


def test_victoria_collapses_redelivered_samples(victoria: VictoriaHandle) -> None:
    ts_ms = int(time.time() * 1000) - 5000
    _write(victoria, _cpu("dev-vm-dedup", 1.0, ts_ms))
    _write(victoria, _cpu("dev-vm-dedup", 1.0, ts_ms), _cpu("dev-vm-dedup", 2.0, ts_ms + 1000))

    query = 'count_over_time(telemetry_cpu_pct{device="dev-vm-dedup"}[1m])'
    rows = wait_until(lambda: victoria.query(query))

    assert float(rows[0]["value"][1]) == 2


def test_victoria_keeps_data_across_restart(victoria: VictoriaHandle) -> None:
    now_ms = int(time.time() * 1000)
    _write(victoria, _cpu("dev-vm-restart", 7.0, now_ms))
    wait_until(lambda: victoria.query('telemetry_cpu_pct{device="dev-vm-restart"}'))

    victoria.stop()
    victoria.start()

    rows = victoria.query('telemetry_cpu_pct{device="dev-vm-restart"}')
    assert float(rows[0]["value"][1]) == 7.0


def test_victoria_refuses_a_taken_port(tmp_path: Path, victoria: VictoriaHandle) -> None:
    other = VictoriaService(data_dir=tmp_path, port=victoria.service.port)

    with pytest.raises(PortInUse):
        other.start()


def test_mosquitto_restart_keeps_retained_messages(broker: BrokerHandle) -> None:
    controller = broker.controller_client()
    controller.connect()
    controller.publish("st/v1/dev-retained/config/desired", b"v8", retain=True)
    controller.close()

    broker.stop()
    broker.start()

    reader = broker.controller_client()
    try:
        reader.connect()
        reader.subscribe("st/v1/dev-retained/config/desired")
        got = wait_until(lambda: reader.received())
        assert (got[0].payload, got[0].retain) == (b"v8", True)
        reader.publish("st/v1/dev-retained/config/desired", b"", retain=True)  # clear it for other tests
    finally:
        reader.close()


def test_mosquitto_refuses_a_taken_port(tmp_path: Path, broker: BrokerHandle) -> None:
    other = MosquittoService(data_dir=tmp_path, port=broker.port)

    with pytest.raises(PortInUse):
        other.start()


def test_postgres_cluster_accepts_sqlalchemy(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE devstack_probe (name text)"))
            conn.execute(sa.text("INSERT INTO devstack_probe VALUES ('王庄村')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM devstack_probe")).scalar_one() == "王庄村"
            assert (
                conn.execute(sa.text("SELECT current_setting('listen_addresses')")).scalar_one()
                == "127.0.0.1"
            )
    finally:
        engine.dispose()
