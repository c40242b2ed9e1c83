"""Fixtures for agent unit tests: a state store in a temp dir and an outbox on it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables

DEVICE = "stb-0001"


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


@pytest.fixture
def store(state_path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(state_path)
    yield opened
    opened.close()


@pytest.fixture
def outbox(store: StateStore) -> Outbox:
    return Outbox(store, max_messages=1000, max_bytes=1 << 20)


@pytest.fixture
def tunables() -> Tunables:
    return Tunables(telemetry_interval_s=30.0, command_timeout_s=30.0)
