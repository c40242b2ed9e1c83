"""Cookie-authenticated /api/v1 writes need the controller's own Origin (or Referer) or the console's
CSRF token; bearer clients (stationctl) and cookie reads are unaffected."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from station_controller.api.deps import SESSION_COOKIE
from station_controller.api.origins import origin_of
from tests.controller.api.core_fixtures import Api

OWN = "http://127.0.0.1:8080"  # public_url's origin in the test settings


def _station(code: str) -> dict[str, str]:
    return {"code": code, "name": "站", "region_path": "河南省/南阳市"}


def _cookie_client(api: Api) -> TestClient:
    """The app's client holding only an operator's console cookie (no Authorization header)."""
    token = api.user("operator")["authorization"].split()[1]
    api.client.cookies.set(SESSION_COOKIE, token)
    return api.client


def _exists(api: Api, code: str) -> bool:
    return api.client.get(f"/api/v1/stations/{code}", headers=api.user("viewer")).status_code == 200


def test_a_cookie_only_write_without_origin_is_refused_and_changes_nothing(api: Api) -> None:
    client = _cookie_client(api)
    assert api.settings.public_url == OWN
    reply = client.post("/api/v1/stations", json=_station("st-a"))
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"] == "permission_denied"
    forged = client.post(
        "/api/v1/stations", json=_station("st-b"), headers={"origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    null = client.post("/api/v1/stations", json=_station("st-c"), headers={"origin": "null"})
    assert null.status_code == 403
    foreign_referer = {"referer": "http://127.0.0.1:8080.evil.example/console/"}
    assert client.post("/api/v1/stations", json=_station("st-d"), headers=foreign_referer).status_code == 403
    api.client.cookies.clear()
    assert not any(_exists(api, c) for c in ("st-a", "st-b", "st-c", "st-d"))


def test_a_cookie_write_from_the_controllers_own_origin_or_referer_is_accepted(api: Api) -> None:
    client = _cookie_client(api)
    assert client.get("/api/v1/stations").status_code == 200  # reads need no origin
    assert client.post("/api/v1/stations", json=_station("st-o"), headers={"origin": OWN}).status_code == 201
    referer = {"referer": f"{OWN}/console/stations"}
    assert client.post("/api/v1/stations", json=_station("st-r"), headers=referer).status_code == 201
    api.client.cookies.clear()
    assert _exists(api, "st-o")
    assert _exists(api, "st-r")


def test_the_console_csrf_token_works_as_a_header(api: Api) -> None:
    client = _cookie_client(api)
    page = client.get("/console/")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token is not None, page.text[:300]
    ok = client.post("/api/v1/stations", json=_station("st-t"), headers={"x-csrf-token": token.group(1)})
    assert ok.status_code == 201
    wrong = client.post("/api/v1/stations", json=_station("st-w"), headers={"x-csrf-token": "0" * 64})
    assert wrong.status_code == 403


def test_bearer_writes_need_no_origin(api: Api) -> None:
    reply = api.client.post("/api/v1/stations", json=_station("st-bearer"), headers=api.user("operator"))
    assert reply.status_code == 201


def test_trusted_origins_add_to_public_url() -> None:
    from station_controller.api.origins import allowed_origins
    from tests.controller.api.core_fixtures import make_settings

    settings = make_settings(
        Path("/tmp"),
        "sqlite://",
        public_url="https://fleet.example.cn/",
        trusted_origins=["https://console.example.cn:443", "http://10.0.0.5:8080"],
    )
    assert allowed_origins(settings) == {
        "https://fleet.example.cn",
        "https://console.example.cn",
        "http://10.0.0.5:8080",
    }
    assert origin_of("HTTP://Fleet.Example.cn:80/x") == "http://fleet.example.cn"
    assert origin_of("javascript:alert(1)") is None
