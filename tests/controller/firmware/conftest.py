"""Firmware fixtures: the campaigns' Fleet (SQLite and PostgreSQL) with the real firmware payload and a
pinned firmware key; a staff API client on SQLite with a pinned key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from station_controller.db import make_engine, make_session_factory
from station_controller.firmware import keys
from station_controller.firmware.campaign_payload import FirmwarePayload
from station_controller.migrations import upgrade_head
from tests.controller.api.core_fixtures import make_settings
from tests.controller.campaigns.conftest import FakeClock, FakePayload, Fleet
from tests.controller.firmware.signing import Key
from tests.fakes.commands import FakePublisher


@pytest.fixture
def fw_key() -> Key:
    return Key()


@pytest.fixture
def fleet(tmp_path: Path, any_db_url: str, fw_key: Key) -> Iterator[Fleet]:
    """On SQLite and, marked integration, on PostgreSQL; the ``firmware`` payload registered."""
    upgrade_head(any_db_url)
    settings = make_settings(tmp_path, any_db_url, campaign_scheduler_enabled=False)
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        keys.add_key(session, public_key=fw_key.public_b64, label="test")
    fake = FakePayload()
    clock = FakeClock()  # the payload's restart windows start from the scheduler's (fake) now
    try:
        yield Fleet(
            sessions=sessions,
            settings=settings,
            publisher=FakePublisher(),
            clock=clock,
            payload=fake,
            payloads={"fake": fake, "firmware": FirmwarePayload(settings, clock=clock)},
        )
    finally:
        engine.dispose()
