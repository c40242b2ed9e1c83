"""Shared pieces of the ingest integration tests: a SQLite registry, settings for the test services,
a started IngestRuntime, device clients and samples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from station_controller.db import Base, make_engine, make_session_factory
from station_controller.ingest.runtime import IngestRuntime, build_ingest
from station_controller.registry.models import Device, Region, Station
from station_controller.settings import Settings
from station_protocol import Telemetry
from tests.support import BrokerHandle, MqttTestClient, VictoriaHandle, wait_until


def make_registry(tmp_path: Path, device_ids: list[str]) -> sessionmaker[Session]:
    """A SQLite registry with one station holding ``device_ids`` (enrolled)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        region = Region(name="王庄村", path="河南省/王庄村")
        session.add(region)
        session.flush()
        now = datetime.now(timezone.utc)
        station = Station(code="WZ-1", name="王庄", region_id=region.id, created_at=now)
        session.add(station)
        session.flush()
        for device_id in device_ids:
            session.add(
                Device(
                    id=device_id,
                    station_id=station.id,
                    role="stb",
                    serial=f"SN-{device_id}",
                    region_path=region.path,
                    status="enrolled",
                )
            )
    return factory


def make_settings(tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_username=broker.controller_username,
        mqtt_password=broker.controller_password,  # type: ignore[arg-type]
        tsdb_url=victoria.url,
        tsdb_batch_points=500,
        tsdb_retry_max_delay_s=0.5,
        ingest_flush_interval_s=0.2,
    )


@contextmanager
def running_ingest(settings: Settings, factory: sessionmaker[Session]) -> Iterator[IngestRuntime]:
    """A started, connected IngestRuntime; stopped (and flushed) on exit."""
    runtime = build_ingest(settings, factory)
    runtime.start()
    try:
        wait_until(runtime.ready, timeout=30, message="ingest connected")
        yield runtime
    finally:
        runtime.stop()


def device_client(broker: BrokerHandle, device_id: str) -> MqttTestClient:
    client = broker.client(device_id, broker.add_device(device_id))
    assert not client.connect().is_failure
    return client


def sample(seq: int) -> Telemetry:
    return Telemetry(
        seq=seq,
        interval_s=1.0,
        cpu_pct=3.0,
        load1=0.1,
        mem_total=1000,
        mem_used=500,
        disk_total=10_000,
        disk_used=10,
        uptime_s=100.0,
    )
