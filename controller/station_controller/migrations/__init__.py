"""Alembic migrations of the registry schema; ``upgrade_head`` is what ``station-controller migrate`` runs."""

from __future__ import annotations

from pathlib import Path

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
