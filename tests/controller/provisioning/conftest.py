"""Provisioning unit fixtures: a SQLite registry built from the models, devices, and a fake action."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from station_controller.settings import Settings
from tests.controller.provisioning.fakes import make_db, make_prov_settings, register_devices


@pytest.fixture
def prov_settings(tmp_path: Path) -> Settings:
    return make_prov_settings(tmp_path)


@pytest.fixture
def prov_db(prov_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine, factory = make_db(prov_settings.database_url)
    try:
        yield factory
    finally:
        engine.dispose()


@pytest.fixture
def fleet(prov_db: sessionmaker[Session], prov_settings: Settings) -> list[str]:
    """50 STBs on 50 stations in one county, tagged ``wave1``; their ids in order."""
    return register_devices(prov_db, prov_settings, count=50)
