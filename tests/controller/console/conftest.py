"""Console test fixtures: an app on a temp SQLite registry with seeded stations, devices and staff."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from station_controller.auth import models as _auth_models  # noqa: F401  (tables for create_all)
from station_controller.auth import service as auth_service
from station_controller.commands import models as _command_models  # noqa: F401
from station_controller.db import Base, make_engine, make_session_factory
from station_controller.kernel.clock import utcnow
from station_controller.main import create_app
from station_controller.registry import service as registry
from station_controller.settings import Settings
from tests.fakes.commands import FakePublisher

PASSWORD = "correct-horse-battery"  # noqa: S105  (test account)
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("console-test-secret-0123456789"),
        mqtt_password=SecretStr("console-test-mqtt-0123456789"),
        login_attempts_per_minute=5,
    )


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _enrolled(session: Session, device_id: str, **presence: Any) -> None:
    device = registry.get_device(session, device_id=device_id)
    device.status, device.enrolled_at, device.token_hash = "enrolled", utcnow(), None
    for key, value in presence.items():
        setattr(device, key, value)
    session.commit()


TELEMETRY = {
    "seq": 7,
    "interval_s": 2.0,
    "cpu_pct": 12.5,
    "load1": 0.3,
    "mem_total": 1000,
    "mem_used": 250,
    "disk_total": 2000,
    "disk_used": 1000,
    "uptime_s": 93784.0,
    "temp_c": 48.2,
}


@pytest.fixture
def seeded(factory: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    """Three stations in two counties; one with a hostile name; devices online, offline and pending."""
    with factory() as s:
        auth_service.create_user(s, username="ops", password=PASSWORD, role="operator")
        auth_service.create_user(s, username="watcher", password=PASSWORD, role="viewer")
        a = registry.create_station(
            s, code="TH-001", name="王庄村服务站", region_path="河南省/南阳市/唐河县/王庄村", tags=["试点"]
        )
        b = registry.create_station(
            s, code="TH-002", name="<script>alert('x')</script>", region_path="河南省/南阳市/唐河县/李庄村"
        )
        c = registry.create_station(
            s, code="XY-001", name="新野站", region_path="河南省/南阳市/新野县/前庄村"
        )
        registry.create_device(s, settings=settings, station_code="TH-001", role="stb", serial="SN-A1")
        registry.create_device(s, settings=settings, station_code="TH-001", role="router", serial="SN-A2")
        registry.create_device(s, settings=settings, station_code="TH-002", role="router", serial="SN-B1")
        registry.create_device(s, settings=settings, station_code="XY-001", role="stb", serial="SN-C1")
        _enrolled(
            s,
            "stb-sn-a1",
            online=True,
            last_seen_at=utcnow(),
            agent_version="1.2.0",
            boot_id="boot-123",
            latest=TELEMETRY,
            latest_at=utcnow(),
            rx_bps=2_500_000.0,
            tx_bps=640_000.0,
        )
        _enrolled(s, "router-sn-a2", online=False, agent_version="1.1.0")
        _enrolled(s, "router-sn-b1", online=True, last_seen_at=utcnow(), agent_version="1.2.0")
        return {"a": a.id, "b": b.id, "c": c.id}


@pytest.fixture
def app(settings: Settings, factory: sessionmaker[Session], seeded: dict[str, Any]) -> FastAPI:
    app = create_app(settings, engine=factory.kw["bind"])
    app.state.publisher = FakePublisher()
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no form token"
    return match.group(1)


def _login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"csrf": _csrf_from(page.text), "username": username, "password": password, "next": "/console/"},
    )


@pytest.fixture
def csrf_from() -> Callable[[str], str]:
    """Extract the form token from a rendered page."""
    return _csrf_from


@pytest.fixture
def login() -> Callable[..., Any]:
    """``login(client, username, password=PASSWORD)`` through the real form; returns the POST response."""
    return _login


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def operator(client: TestClient) -> TestClient:
    assert _login(client, "ops").status_code == 303
    return client


@pytest.fixture
def viewer(client: TestClient) -> TestClient:
    assert _login(client, "watcher").status_code == 303
    return client
