"""Migration 0009 builds exactly the firmware models (and the birth's columns on devices) on SQLite and
PostgreSQL, and its downgrade removes them again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from station_controller.auth import models as _auth  # noqa: F401  (register every table)
from station_controller.campaigns import models as _campaigns  # noqa: F401
from station_controller.commands import models as _commands  # noqa: F401
from station_controller.content import models as _content  # noqa: F401
from station_controller.db import Base, make_engine
from station_controller.firmware import models as _firmware  # noqa: F401
from station_controller.migrations import alembic_config, include_object_for, upgrade_head
from station_controller.portal import models as _portal  # noqa: F401
from station_controller.provisioning import models as _provisioning  # noqa: F401
from station_controller.provisioning.configs import models as _configs  # noqa: F401
from station_controller.provisioning.jobs import models as _jobs  # noqa: F401

TABLES = {"firmware_keys", "firmware_releases", "firmware_device_state", "firmware_update_events"}
DEVICE_COLUMNS = {"agent_slot", "os_version", "os_slot", "last_update"}


def _firmware_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= TABLES
            columns = {c["name"] for c in inspect(conn).get_columns("devices")}
            assert columns >= DEVICE_COLUMNS
            diff = compare_metadata(
                MigrationContext.configure(
                    conn,
                    opts={"compare_type": True, "include_object": include_object_for(conn.dialect.name)},
                ),
                Base.metadata,
            )
    finally:
        engine.dispose()
    return [d for d in diff if "firmware" in repr(d) or any(c in repr(d) for c in DEVICE_COLUMNS)]


def test_upgrade_builds_the_firmware_models_exactly(any_db_url: str) -> None:
    upgrade_head(any_db_url)
    assert _firmware_diff(any_db_url) == []


def test_downgrade_to_0008_removes_the_firmware_tables_and_columns(any_db_url: str) -> None:
    upgrade_head(any_db_url)
    command.downgrade(alembic_config(any_db_url), "0008")
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            assert not TABLES & set(inspect(conn).get_table_names())
            assert not DEVICE_COLUMNS & {c["name"] for c in inspect(conn).get_columns("devices")}
    finally:
        engine.dispose()
    upgrade_head(any_db_url)  # and back up again
