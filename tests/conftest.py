"""Session fixtures for real services; each starts only when a test asks for it, and is stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from station_controller.devstack import MosquittoService, PostgresService, VictoriaService
from tests.support import BrokerHandle, VictoriaHandle


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    """Our own Mosquitto on a free port with a controller account; see BrokerHandle for helpers."""
    service = MosquittoService(data_dir=tmp_path_factory.mktemp("mosquitto"))
    handle = BrokerHandle(service)
    service.start()
    try:
        yield handle
    finally:
        service.stop()


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaHandle]:
    """Our own VictoriaMetrics on a free port (dedup 1 ms); ``query(promql)`` returns result rows."""
    service = VictoriaService(data_dir=tmp_path_factory.mktemp("victoria"))
    service.start()
    try:
        yield VictoriaHandle(service)
    finally:
        service.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg) of an empty database in a private PostgreSQL cluster."""
    service = PostgresService()
    service.start()
    try:
        yield service.url
    finally:
        service.destroy()
