"""Config fixtures: a migrated registry on SQLite and PostgreSQL and an app client (core fixtures)."""

from tests.controller.api.core_fixtures import any_db_url, api, db, db_settings, sqlite_url

__all__ = ["any_db_url", "api", "db", "db_settings", "sqlite_url"]
