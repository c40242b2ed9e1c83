"""Fixtures shared by the controller core tests: settings on a temp DB, migrated schemas, an app client."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from station_controller.auth.service import create_user
from station_controller.commands.waiters import ResultWaiters
from station_controller.db import make_engine, make_session_factory
from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from station_controller.settings import Settings

PASSWORD = "correct horse battery staple"


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    """Settings on ``database_url`` with broker files in ``tmp_path`` and no broker to signal."""
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "secret_key": secrets.token_urlsafe(24),
        "mqtt_password": secrets.token_urlsafe(24),
        "broker_password_file": tmp_path / "broker" / "passwd",
        "broker_acl_file": tmp_path / "broker" / "acl",
        "device_mqtt_host": "mqtt.example.test",
        "device_mqtt_port": 18830,
        "login_attempts_per_minute": 5,
        **overrides,
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.broker_pid_file = None
    return settings


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


def _fresh_postgres_database(server_url: str) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, and a fresh database in the private PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    url, name = _fresh_postgres_database(server_url)
    try:
        yield url
    finally:
        _drop_postgres_database(server_url, name)


@pytest.fixture
def db(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    """Session factory on a migrated database (SQLite and PostgreSQL)."""
    upgrade_head(any_db_url)
    engine = make_engine(any_db_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def db_settings(tmp_path: Path, any_db_url: str, db: sessionmaker[Session]) -> Settings:
    return make_settings(tmp_path, any_db_url)


@dataclass
class FakePublisher:
    """CommandPublisher that records what would go to the broker (or fails when told to)."""

    sent: list[dict[str, object]] = field(default_factory=list)
    fail: bool = False

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, expiry_s: float | None) -> None:
        if self.fail:
            raise ConnectionError("not connected")
        self.sent.append(
            {"topic": topic, "payload": payload, "qos": qos, "retain": retain, "expiry_s": expiry_s}
        )


@dataclass
class FakeIngest:
    publisher: FakePublisher = field(default_factory=FakePublisher)
    waiters: ResultWaiters = field(default_factory=ResultWaiters)
    started: int = 0
    stopped: int = 0
    is_ready: bool = True

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def ready(self) -> bool:
        return self.is_ready


@dataclass
class Api:
    """A running app on a migrated SQLite registry, with helpers to log staff in."""

    client: TestClient
    settings: Settings
    sessions: sessionmaker[Session]
    ingest: FakeIngest

    def user(self, role: str, username: str | None = None) -> dict[str, str]:
        """Create a staff user with ``role`` and return bearer headers of a fresh login."""
        name = username or f"{role}-{uuid.uuid4().hex[:6]}"
        with self.sessions() as session:
            create_user(session, username=name, password=PASSWORD, role=role)
        reply = self.client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        self.client.cookies.clear()  # tests choose explicitly between bearer and cookie
        return {"authorization": f"Bearer {reply.json()['token']}"}


@pytest.fixture
def api(tmp_path: Path, sqlite_url: str) -> Iterator[Api]:
    upgrade_head(sqlite_url)
    settings = make_settings(tmp_path, sqlite_url)
    ingest = FakeIngest()
    app = create_app(settings, ingest=ingest)
    with TestClient(app) as client:
        yield Api(client=client, settings=settings, sessions=app.state.session_factory, ingest=ingest)
