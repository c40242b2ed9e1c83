"""The console fixtures (app on a temp SQLite registry with seeded stations, devices and staff)."""

from tests.controller.console.conftest import (  # noqa: F401 - fixtures
    app,
    client,
    csrf_from,
    factory,
    login,
    password,
    seeded,
    settings,
)
