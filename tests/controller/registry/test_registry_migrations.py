"""Alembic migrations build exactly the models' schema on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from station_controller.db import Base, make_engine
from station_controller.migrations import alembic_config, include_object_for, upgrade_head
from station_controller.plugins import discover_features

discover_features()  # every feature's models register their tables, as in the running controller

TABLES = {
    "regions",
    "tags",
    "stations",
    "station_tags",
    "devices",
    "commands",
    "staff_users",
    "staff_sessions",
}


def test_upgrade_head_creates_every_table_and_matches_the_models(any_db_url: str) -> None:
    upgrade_head(any_db_url)
    upgrade_head(any_db_url)  # idempotent: a second run is a no-op
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= TABLES
            diff = compare_metadata(
                MigrationContext.configure(
                    conn,
                    opts={"compare_type": True, "include_object": include_object_for(conn.dialect.name)},
                ),
                Base.metadata,
            )
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_to_base_removes_the_tables(any_db_url: str) -> None:
    upgrade_head(any_db_url)
    command.downgrade(alembic_config(any_db_url), "base")
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            assert not TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_postgres_gets_a_pattern_index_for_subtree_filters(any_db_url: str) -> None:
    upgrade_head(any_db_url)
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            indexes = {ix["name"]: ix for ix in inspect(conn).get_indexes("devices")}
    finally:
        engine.dispose()
    assert indexes["ix_devices_region_path"]["column_names"] == ["region_path", "id"]
    if any_db_url.startswith("postgresql"):
        ops = indexes["ix_devices_region_path"].get("dialect_options", {}).get("postgresql_ops", {})
        assert ops == {"region_path": "varchar_pattern_ops"}
        assert indexes["ix_devices_search_trgm"]["dialect_options"]["postgresql_using"] == "gin"
    else:
        assert "ix_devices_search_trgm" not in indexes
