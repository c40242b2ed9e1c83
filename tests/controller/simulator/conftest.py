"""Controller core fixtures (see tests/controller/api/core_fixtures.py) for the enrollment test."""

from tests.controller.api.core_fixtures import api, sqlite_url

__all__ = ["api", "sqlite_url"]
