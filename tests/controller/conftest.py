"""Fixtures for every controller test: an empty database (SQLite, and PostgreSQL for integration), a
migrated session factory, settings on it, and a running app client (``api``). Helpers they use are in
tests/controller/api/core_fixtures.py, fakes in tests/fakes/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from station_controller.db import make_engine, make_session_factory
from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from station_controller.settings import Settings
from tests.controller.api.core_fixtures import Api, make_settings
from tests.fakes.ingest import FakeIngest


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


@pytest.fixture
def api(tmp_path: Path, sqlite_url: str) -> Iterator[Api]:
    upgrade_head(sqlite_url)
    settings = make_settings(tmp_path, sqlite_url)
    ingest = FakeIngest()
    app = create_app(settings, ingest=ingest)
    with TestClient(app) as client:
        yield Api(client=client, settings=settings, sessions=app.state.session_factory, ingest=ingest)
