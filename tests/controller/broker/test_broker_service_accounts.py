"""Controller broker accounts: one per process, stable derived passwords, a reserved name space."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from station_controller.broker import (
    BrokerAccountError,
    in_controller_namespace,
    service_accounts,
    verify_password,
    worker_username,
)
from station_controller.cli import worker_settings
from station_controller.db import Base, make_engine
from station_controller.enrollment.broker_sync import account_files, broker_accounts, controller_accounts
from station_controller.errors import ControllerError
from station_controller.kernel.clock import utcnow
from station_controller.registry.models import Device, Region, Station
from tests.controller.api.core_fixtures import make_settings

MASTER = "m" * 32


def test_each_worker_gets_its_own_stable_account() -> None:
    accounts = service_accounts("controller", MASTER, ["w1", "w2"])

    assert [a.username for a in accounts] == ["controller", "controller-w1", "controller-w2"]
    assert accounts[0].password == MASTER
    assert len({a.password for a in accounts}) == 3
    assert service_accounts("controller", MASTER, ["w1", "w2"]) == accounts  # same after a restart
    assert service_accounts("controller", "n" * 32, ["w1"])[1].password != accounts[1].password
    assert MASTER not in repr(accounts)


@pytest.mark.parametrize("name", ["", "W1", "a/b", "x" * 33, "-w", "w 1", "+"])
def test_bad_worker_names_are_refused(name: str) -> None:
    with pytest.raises(BrokerAccountError):
        worker_username("controller", name)


def test_duplicate_workers_are_refused() -> None:
    with pytest.raises(BrokerAccountError, match="unique"):
        service_accounts("controller", MASTER, ["w1", "w1"])


def test_controller_namespace_covers_the_root_and_its_dashed_names() -> None:
    assert in_controller_namespace("controller", "controller")
    assert in_controller_namespace("controller-x", "controller")
    assert not in_controller_namespace("controllerx", "controller")
    assert not in_controller_namespace("stb-controller", "controller")


@pytest.mark.parametrize("root", ["stb", "router", "stb-ctl", "router-x"])
def test_a_controller_name_space_that_would_cover_device_ids_is_refused(tmp_path: Path, root: str) -> None:
    settings = make_settings(tmp_path, "sqlite://", mqtt_username=root)

    with pytest.raises(BrokerAccountError, match="device ids"):
        controller_accounts(settings)


def test_worker_settings_use_the_workers_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://", mqtt_ingest_workers=["w1"])

    worker = worker_settings(settings, "w1")

    assert worker.mqtt_username == "controller-w1"
    expected = service_accounts("controller", settings.mqtt_password.get_secret_value(), ["w1"])[1]
    assert worker.mqtt_password.get_secret_value() == expected.password
    assert settings.mqtt_username == "controller"  # the main process's settings are left alone


@pytest.mark.parametrize("worker", [None, "", "w2"])
def test_an_ingest_worker_must_be_named_and_listed(tmp_path: Path, worker: str | None) -> None:
    settings = make_settings(tmp_path, "sqlite://", mqtt_ingest_workers=["w1"])

    with pytest.raises(ControllerError, match="worker"):
        worker_settings(settings, worker)


def test_broker_files_hold_every_controller_account_and_no_device_in_its_namespace(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = make_engine(sqlite_url)
    Base.metadata.create_all(engine)
    settings = make_settings(tmp_path, sqlite_url, mqtt_ingest_workers=["w1"])
    with Session(engine) as session:
        region = Region(name="村", path="省/村")
        session.add(region)
        session.flush()
        station = Station(code="s1", name="站", region_id=region.id, created_at=utcnow())
        session.add(station)
        session.flush()
        for device_id in ("stb-honest", "controller-w2", "controller"):
            session.add(
                Device(
                    id=device_id,
                    station_id=station.id,
                    role="stb",
                    serial=f"SN-{device_id}",
                    region_path=region.path,
                    status="enrolled",
                    mqtt_password_hash="$7$101$c2FsdA==$aGFzaA==",
                )
            )
        session.flush()
        accounts = broker_accounts(session, settings=settings)
    engine.dispose()

    names = [a.username for a in accounts]
    assert names == ["controller", "controller-w1", "stb-honest"]
    assert verify_password(settings.mqtt_password.get_secret_value(), accounts[0].password_hash)
    worker_password = worker_settings(settings, "w1").mqtt_password.get_secret_value()
    assert verify_password(worker_password, accounts[1].password_hash)
    files = account_files(settings)
    files.write(accounts)
    acl = files.acl_file.read_text()
    assert "user controller\n" in acl
    assert "user controller-w1\n" in acl
    assert len(files.password_file.read_text().splitlines()) == 3
