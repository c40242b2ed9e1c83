"""Controller core fixtures (see tests/controller/api/core_fixtures.py)."""

from tests.controller.api.core_fixtures import any_db_url, api, db, db_settings, sqlite_url

__all__ = ["any_db_url", "api", "db", "db_settings", "sqlite_url"]
