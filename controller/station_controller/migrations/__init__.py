"""Alembic migrations of the registry schema; ``upgrade_head`` is what ``station-controller migrate`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    """Alembic config for the packaged scripts, pointed at ``database_url``."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(__file__).resolve().parent))
    config.attributes["database_url"] = database_url
    return config


def upgrade_head(database_url: str) -> None:
    """Bring the registry at ``database_url`` to the newest schema (idempotent)."""
    command.upgrade(alembic_config(database_url), "head")


def include_object_for(dialect: str) -> Any:
    """Alembic ``include_object`` hook that skips schema items meant only for another dialect.

    Alembic's autogenerate ignores ``ddl_if``; without this the PostgreSQL-only trigram index would
    show up as missing on SQLite.
    """

    def include(obj: Any, _name: Any, _type: str, _reflected: bool, _compare_to: Any) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect

    return include
