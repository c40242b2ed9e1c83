"""X-Forwarded-For is believed only from STATION_FORWARDED_ALLOW_IPS, also under the real uvicorn."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from station_controller.auth.service import create_user
from station_controller.cli import uvicorn_options
from station_controller.devstack.ports import free_port
from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from station_controller.settings import Settings
from tests.controller.api.core_fixtures import PASSWORD, make_settings
from tests.fakes.ingest import FakeIngest
from tests.support import wait_until

LOGIN = "/api/v1/auth/login"
WRONG = {"username": "wang", "password": "not the password at all"}
PROXY = "192.0.2.1"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade_head(url)
    settings = make_settings(tmp_path, url, **overrides)
    engine_app = create_app(settings, ingest=FakeIngest())
    with engine_app.state.session_factory() as session:
        create_user(session, username="wang", password=PASSWORD, role="viewer")
    return settings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    """The app under uvicorn exactly as `station-controller serve` configures it, default settings."""
    settings = _settings(tmp_path, http_port=free_port("127.0.0.1"))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, ingest=FakeIngest()), **uvicorn_options(settings))
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=20, message="uvicorn started")
        yield settings, f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_spoofed_forwarded_for_from_loopback_is_ignored_by_the_real_server(
    served: tuple[Settings, str],
) -> None:
    settings, base = served
    with httpx.Client(base_url=base, timeout=10) as client:
        for n in range(settings.login_attempts_per_minute):
            spoof = {"x-forwarded-for": f"10.66.0.{n + 1}"}  # a new "source" each time
            assert client.post(LOGIN, json=WRONG, headers=spoof).status_code == 401
        again = client.post(LOGIN, json=WRONG, headers={"x-forwarded-for": "10.66.1.1"})

    assert again.status_code == 429  # all of them came from 127.0.0.1, and that is what counted
    assert int(again.headers["retry-after"]) >= 1


def test_forwarded_for_is_used_only_from_a_configured_proxy(tmp_path: Path) -> None:
    settings = _settings(tmp_path, forwarded_allow_ips=[f"{PROXY}/32"])
    app = create_app(settings, ingest=FakeIngest())
    proxy = TestClient(app, client=(PROXY, 40000))
    stranger = TestClient(app, client=("198.51.100.3", 40000))
    for _ in range(settings.login_attempts_per_minute):
        assert proxy.post(LOGIN, json=WRONG, headers={"x-forwarded-for": "10.0.0.1"}).status_code == 401
        assert stranger.post(LOGIN, json=WRONG, headers={"x-forwarded-for": f"10.0.{_}.9"}).status_code == 401

    # Through the proxy, the delayed source is the forwarded client, not the proxy itself.
    assert proxy.post(LOGIN, json=WRONG, headers={"x-forwarded-for": "10.0.0.1"}).status_code == 429
    good = {"username": "wang", "password": PASSWORD}
    assert proxy.post(LOGIN, json=good, headers={"x-forwarded-for": "10.0.0.2"}).status_code == 200
    # From an untrusted peer the header is ignored: its rotating spoofs all counted against it.
    assert stranger.post(LOGIN, json=good, headers={"x-forwarded-for": "10.0.0.3"}).status_code == 429
