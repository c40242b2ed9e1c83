"""App factory: health probes, ingest lifecycle, the error body shape, OpenAPI."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from tests.controller.api.core_fixtures import Api, make_settings
from tests.fakes.ingest import FakeIngest


def test_healthz_and_readyz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "ingest": True, "threads": True}
    api.ingest.is_ready = False
    not_ready = api.client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["ingest"] is False


def test_readyz_reports_an_unreachable_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'missing-dir' / 'registry.db'}")
    with TestClient(create_app(settings)) as client:
        reply = client.get("/readyz")
    assert reply.status_code == 503
    assert reply.json()["checks"] == {"database": False, "threads": True}
    assert "database" in reply.json()["reasons"]


def test_ingest_is_started_and_stopped_with_the_app(tmp_path: Path, sqlite_url: str) -> None:
    upgrade_head(sqlite_url)
    ingest = FakeIngest()
    app = create_app(make_settings(tmp_path, sqlite_url), ingest=ingest)
    assert (ingest.started, ingest.stopped) == (0, 0)
    with TestClient(app):
        assert (ingest.started, ingest.stopped) == (1, 0)
        assert app.state.publisher is ingest.publisher
        assert app.state.waiters is ingest.waiters
    assert (ingest.started, ingest.stopped) == (1, 1)


def test_without_ingest_commands_are_unreachable(tmp_path: Path, sqlite_url: str) -> None:
    upgrade_head(sqlite_url)
    app = create_app(make_settings(tmp_path, sqlite_url))
    with TestClient(app) as client:
        api = Api(
            client=client,
            settings=app.state.settings,
            sessions=app.state.session_factory,
            ingest=FakeIngest(),
        )
        operator = api.user("operator")
        client.post("/api/v1/stations", json={"code": "s", "name": "n", "region_path": "a"}, headers=operator)
        token = client.post(
            "/api/v1/devices", json={"station_code": "s", "role": "stb", "serial": "S1"}, headers=operator
        ).json()["token"]
        client.post("/api/v1/enroll", json={"serial": "S1", "token": token})
        reply = client.post("/api/v1/devices/stb-s1/commands", json={"name": "ping"}, headers=operator)
    assert reply.status_code == 503
    assert "ingest" in reply.json()["detail"]


def test_errors_have_one_json_shape(api: Api) -> None:
    reply = api.client.get("/api/v1/stations/none", headers=api.user("viewer"))
    assert reply.status_code == 404
    assert set(reply.json()) == {"error", "detail", "retryable"}
    assert reply.json()["error"] == "not_found"
    assert "GET /api/v1/stations" in reply.json()["detail"]


def test_openapi_lists_the_routes(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/enroll",
        "/api/v1/devices",
        "/api/v1/stations/import",
        "/api/v1/devices/{device_id}/commands",
        "/api/v1/commands/{command_id}",
        "/api/v1/auth/login",
        "/api/v1/staff",
        "/api/v1/regions/tree",
    ):
        assert path in paths
    assert api.client.get("/docs").status_code == 200
