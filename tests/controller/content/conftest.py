from tests.controller.api.core_fixtures import api, sqlite_url  # noqa: F401
