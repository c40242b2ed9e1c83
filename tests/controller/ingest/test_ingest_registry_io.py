"""SqlRegistry on SQLite and PostgreSQL: enrolled ids, batched presence writes, flusher pieces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from station_controller.commands.models import CommandRecord
from station_controller.commands.waiters import ResultWaiters
from station_controller.db import Base, make_engine, make_session_factory
from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.flusher import PresenceFlusher
from station_controller.ingest.presence import PresenceStore
from station_controller.ingest.registry_io import SqlRegistry
from station_controller.ingest.results import CommandResultSink
from station_controller.observability.metrics import IngestStats
from station_controller.registry.models import Device, Region, Station
from station_protocol import Birth, Death, Telemetry
from tests.support import wait_until

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)], indirect=True
)

NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite in tmp_path, or a throwaway database in the shared PostgreSQL cluster."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
        yield engine
        engine.dispose()
        return
    base = make_url(request.getfixturevalue("postgres_url"))
    name = f"ingest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        region = Region(name="村", path="省/村")
        session.add(region)
        session.flush()
        station = Station(code="S1", name="王庄", region_id=region.id, created_at=NOW)
        session.add(station)
        session.flush()
        for device_id, role, status, online in [
            ("stb-a1", "stb", "enrolled", True),
            ("rt-a1", "router", "enrolled", False),
            ("stb-old", "stb", "revoked", False),
        ]:
            session.add(
                Device(
                    id=device_id,
                    station_id=station.id,
                    role=role,
                    serial=device_id,
                    region_path=region.path,
                    status=status,
                    online=online,
                    session=5,
                )
            )
    return factory


def _device(factory: sessionmaker[Session], device_id: str) -> Device:
    with factory() as session:
        device = session.get(Device, device_id)
        assert device is not None
        return device


def test_reads_enrolled_devices_only(factory: sessionmaker[Session]) -> None:
    registry = SqlRegistry(factory)
    assert registry.enrolled_roles() == {"stb-a1": "stb", "rt-a1": "router"}
    assert registry.role_of("rt-a1") == "router"
    assert registry.role_of("stb-old") is None
    assert registry.online_devices() == [("stb-a1", 5)]


def test_presence_rows_with_different_columns_are_written_in_one_flush(
    factory: sessionmaker[Session],
) -> None:
    stats = IngestStats()
    registry = SqlRegistry(factory)
    presence = PresenceStore(stats=stats, offline_after_s=60)
    presence.seed(registry.online_devices(), now=1.0)
    flusher = PresenceFlusher(
        presence=presence, repository=registry, known=KnownDevices(registry), stats=stats, interval_s=1.0
    )
    presence.birth(
        "rt-a1",
        Birth(
            agent_version="0.2.0",
            role="router",
            boot_id="b",
            session=9,
            capabilities=("ping",),
            hardware={"arch": "mips"},
            config_version=2,
        ),
        now=100.0,
    )
    presence.death("stb-a1", Death(session=5))
    assert flusher.flush_once() == 2
    router, stb = _device(factory, "rt-a1"), _device(factory, "stb-a1")
    assert (router.online, router.agent_version, router.session, router.hardware) == (
        True,
        "0.2.0",
        9,
        {"arch": "mips"},
    )
    assert router.capabilities == ["ping"]
    assert router.reported_config_version == 2
    assert router.last_seen_at is not None
    assert (stb.online, stb.agent_version) == (False, None)
    assert stats.value("presence_flushes") == 1


class BrokenRepository:
    def write_presence(self, rows: list[dict[str, object]]) -> None:
        raise OperationalError("UPDATE devices", {}, Exception("database is locked"))


def test_failed_flush_keeps_the_changes(factory: sessionmaker[Session]) -> None:
    stats = IngestStats()
    presence = PresenceStore(stats=stats, offline_after_s=60)
    registry = SqlRegistry(factory)
    presence.seed(registry.online_devices(), now=1.0)
    broken = PresenceFlusher(
        presence=presence,
        repository=BrokenRepository(),
        known=KnownDevices(registry),
        stats=stats,
        interval_s=1.0,
    )
    presence.death("stb-a1", Death(session=5))
    assert broken.flush_once() == 0
    assert stats.value("presence_flush_errors") == 1
    working = PresenceFlusher(
        presence=presence, repository=registry, known=KnownDevices(registry), stats=stats, interval_s=1.0
    )
    assert working.flush_once() == 1
    assert _device(factory, "stb-a1").online is False


def test_refresh_forgets_revoked_devices(factory: sessionmaker[Session]) -> None:
    stats = IngestStats()
    registry = SqlRegistry(factory)
    known = KnownDevices(registry)
    known.refresh()
    presence = PresenceStore(stats=stats, offline_after_s=60)
    presence.seed(registry.online_devices(), now=1.0)
    with factory() as session, session.begin():
        device = session.get(Device, "stb-a1")
        assert device is not None
        device.status = "revoked"
    PresenceFlusher(
        presence=presence, repository=registry, known=known, stats=stats, interval_s=1
    ).refresh_known()
    assert known.role_of("stb-a1") is None
    assert presence.online_count() == 0


def test_flusher_housekeeping_expires_unanswered_commands_and_survives_errors(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session, session.begin():
        session.add(
            CommandRecord(
                id="c" * 32,
                device_id="stb-a1",
                name="ping",
                args={},
                status="sent",
                created_at=NOW,
                expires_at=NOW + timedelta(hours=1),  # long past: NOW is a fixed date
                timeout_s=30.0,
            )
        )
    calls: list[str] = []
    sink = CommandResultSink(factory, ResultWaiters())

    def housekeeping() -> None:
        calls.append("run")
        if len(calls) == 1:
            raise RuntimeError("database briefly away")
        sink.expire_overdue()

    registry = SqlRegistry(factory)
    stats = IngestStats()
    flusher = PresenceFlusher(
        presence=PresenceStore(stats=stats, offline_after_s=60),
        repository=registry,
        known=KnownDevices(registry),
        stats=stats,
        interval_s=0.01,
        refresh_s=0.01,
        housekeeping=housekeeping,
    )
    flusher.start()
    try:
        wait_until(lambda: len(calls) >= 2, timeout=10, message="housekeeping ran again after an error")
    finally:
        flusher.stop(timeout_s=5)
    with factory() as session:
        record = session.get(CommandRecord, "c" * 32)
        assert record is not None
        assert record.status == "expired"


def _hostile_birth(**overrides: object) -> Birth:
    # Built directly, below the decoder: defence in depth for values station_protocol should refuse.
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(2000):
        cursor["n"] = {}
        cursor = cursor["n"]  # type: ignore[assignment]
    values: dict[str, object] = dict(
        agent_version="0.2.0\ud800\x00",
        role="router",
        boot_id="b" * 500,
        session=2**70,
        capabilities=("ping\udfff",),
        hardware={"arch": "mips\ud800", "deep": deep, "nan": float("nan"), "big": 10**30},
        config_version=-(2**40),
    )
    values.update(overrides)
    return Birth(**values)  # type: ignore[arg-type]


def _flusher(presence: PresenceStore, registry: SqlRegistry, stats: IngestStats) -> PresenceFlusher:
    return PresenceFlusher(
        presence=presence, repository=registry, known=KnownDevices(registry), stats=stats, interval_s=1.0
    )


def test_a_hostile_birth_is_stored_bounded_and_does_not_fail_the_flush(
    factory: sessionmaker[Session],
) -> None:
    stats = IngestStats()
    registry = SqlRegistry(factory)
    presence = PresenceStore(stats=stats, offline_after_s=60)
    presence.seed(registry.online_devices(), now=1.0)
    presence.birth("rt-a1", _hostile_birth(), now=100.0)
    presence.death("stb-a1", Death(session=5))
    assert _flusher(presence, registry, stats).flush_once() == 2
    router = _device(factory, "rt-a1")
    assert router.agent_version == "0.2.0\ufffd\ufffd"
    assert router.boot_id is not None
    assert len(router.boot_id) == 64
    assert router.session is None
    assert router.capabilities == ["ping\ufffd"]
    assert router.hardware is not None
    assert router.hardware["arch"] == "mips\ufffd"
    assert (router.hardware["nan"], router.hardware["big"]) == (None, None)
    assert _depth(router.hardware) <= 9
    assert router.online is True
    assert _device(factory, "stb-a1").online is False
    assert stats.value("presence_rows_rejected") == 0


def test_a_far_future_sample_time_keeps_presence_flushing(factory: sessionmaker[Session]) -> None:
    stats = IngestStats()
    registry = SqlRegistry(factory)
    presence = PresenceStore(stats=stats, offline_after_s=60)
    now = NOW.timestamp()
    presence.telemetry("rt-a1", _sample(), ts_ms=10**22, now=now)
    presence.telemetry("stb-a1", _sample(), ts_ms=int(now * 1000) - 5000, now=now)
    assert _flusher(presence, registry, stats).flush_once() == 2
    router, stb = _device(factory, "rt-a1"), _device(factory, "stb-a1")
    assert router.latest_at is not None
    assert router.latest_at.replace(tzinfo=timezone.utc) == NOW
    assert stb.latest_at is not None
    assert stb.latest_at.replace(tzinfo=timezone.utc) == NOW - timedelta(seconds=5)
    assert stats.value("presence_values_clamped") == 1


def test_a_row_the_database_refuses_is_isolated_and_the_others_written(
    factory: sessionmaker[Session],
) -> None:
    stats = IngestStats()
    registry = SqlRegistry(factory)
    presence = PresenceStore(stats=stats, offline_after_s=60)
    flusher = _flusher(presence, registry, stats)
    # A value presence would never produce, put straight into the pending changes: the flusher itself
    # must cope with whatever reaches it.
    presence.restore([{"id": "rt-a1", "session": 2**70, "agent_version": "evil"}])
    presence.birth("stb-a1", Birth(agent_version="0.3.0", role="stb", boot_id="b", session=6), now=100.0)
    assert flusher.flush_once() == 1
    assert stats.value("presence_rows_rejected") == 1
    assert _device(factory, "stb-a1").agent_version == "0.3.0"
    assert _device(factory, "rt-a1").agent_version is None
    presence.birth("rt-a1", Birth(agent_version="0.3.1", role="router", boot_id="b", session=7), now=101.0)
    presence.death("stb-a1", Death(session=6))
    assert flusher.flush_once() == 2  # the refused device is tried again with its next changes
    assert _device(factory, "rt-a1").agent_version == "0.3.1"


def test_an_outage_keeps_every_row_for_the_next_flush(factory: sessionmaker[Session], tmp_path: Path) -> None:
    stats = IngestStats()
    registry = SqlRegistry(factory)
    presence = PresenceStore(stats=stats, offline_after_s=60)
    gone = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'registry.db'}")
    down = PresenceFlusher(
        presence=presence,
        repository=SqlRegistry(make_session_factory(gone)),
        known=KnownDevices(registry),
        stats=stats,
        interval_s=1.0,
    )
    presence.seed(registry.online_devices(), now=1.0)
    presence.death("stb-a1", Death(session=5))
    presence.birth("rt-a1", Birth(agent_version="0.3.1", role="router", boot_id="b", session=7), now=1.0)
    assert down.flush_once() == 0
    gone.dispose()
    assert stats.value("presence_rows_rejected") == 0
    assert _flusher(presence, registry, stats).flush_once() == 2


def _sample() -> Telemetry:
    return Telemetry(
        seq=1,
        interval_s=30.0,
        cpu_pct=1.0,
        load1=0.1,
        mem_total=10,
        mem_used=5,
        disk_total=10,
        disk_used=5,
        uptime_s=10.0,
        temp_c=None,
        interfaces=(),
    )


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0
