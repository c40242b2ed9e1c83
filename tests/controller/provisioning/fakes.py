"""Fakes behind the Action contract and registry helpers for provisioning unit tests."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from station_controller.auth import models as _auth_models  # noqa: F401 - registers the tables
from station_controller.commands import models as _command_models  # noqa: F401
from station_controller.db import Base, make_engine, make_session_factory
from station_controller.provisioning import models as _prov_models  # noqa: F401
from station_controller.provisioning.errors import DeviceUnreachable
from station_controller.provisioning.jobs import models as _job_models  # noqa: F401
from station_controller.provisioning.jobs.contract import ActionContext, ActionRegistry, DeviceOutcome
from station_controller.registry.service import create_device, create_station
from station_controller.settings import Settings

REGION = "河南省/南阳市/唐河县"


def make_prov_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'registry.db'}",
        "secret_key": secrets.token_urlsafe(24),
        "mqtt_password": secrets.token_urlsafe(24),
        "provisioning_workers": 5,
        "provisioning_concurrency": 5,
        "provisioning_idle_poll_s": 0.05,
        **overrides,
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.broker_pid_file = None
    return settings


def make_db(url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return engine, make_session_factory(engine)


def register_devices(factory: sessionmaker[Session], settings: Settings, *, count: int) -> list[str]:
    ids = []
    with factory() as session:
        for i in range(count):
            create_station(session, code=f"st-{i:03d}", name=f"村 {i}", region_path=REGION, tags=["wave1"])
            device, _token = create_device(
                session, settings=settings, station_code=f"st-{i:03d}", role="stb", serial=f"sn-{i:03d}"
            )
            ids.append(device.id)
    return ids


def index_of(ctx: ActionContext) -> int:
    return int(ctx.device.serial.rsplit("-", 1)[1])


class FleetAction:
    """Unreachable when index % 10 == 3, failed when == 7 (while ``broken``), else changed/ok."""

    name = "fake.fleet"

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def run(self, ctx: ActionContext) -> DeviceOutcome:
        with self._lock:
            self.calls.append((ctx.device.device_id, ctx.dry_run))
        i = index_of(ctx)
        ctx.log(f"working on {ctx.device.device_id}")
        if self.broken and i % 10 == 3:
            raise DeviceUnreachable("ssh: connect timed out; check the station's uplink")
        if self.broken and i % 10 == 7:
            return DeviceOutcome("failed", "verification failed: ssid missing after push")
        if ctx.dry_run:
            return DeviceOutcome("changed", diff=f"-old {i}\n+new {i}")
        return DeviceOutcome("changed" if i % 2 == 0 else "ok", data={"index": i})


class GatedAction:
    """The first ``quick`` devices finish at once; the others wait until ``gate`` exists."""

    name = "fake.gated"

    def __init__(self, gate: Path, quick: int = 10) -> None:
        self.gate, self.quick = gate, quick

    def run(self, ctx: ActionContext) -> DeviceOutcome:
        i = index_of(ctx)
        while i >= self.quick and not self.gate.exists():
            time.sleep(0.05)
        return DeviceOutcome("changed", data={"index": i, "attempt": ctx.attempt})


def registry_of(*actions: object) -> ActionRegistry:
    registry = ActionRegistry()
    for action in actions:
        registry.add(action)  # type: ignore[arg-type]
    return registry


def poll(predicate: Callable[[], object], timeout: float = 60.0) -> object:
    from tests.support import wait_until

    return wait_until(predicate, timeout=timeout, interval=0.05)
