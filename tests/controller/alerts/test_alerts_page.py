"""The console's alerts page: alerts by station/region, acknowledge, maintenance windows as silences."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from tests.controller.api.core_fixtures import PASSWORD, Api
from tests.support import wait_until
from tests.support.alerting import webhook_body

from .conftest import REGION, auth

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def _console(api: Api, role: str) -> TestClient:
    name = f"{role}-page"
    api.user(role, name)
    client = api.client
    page = client.get("/console/login")
    token = CSRF_FIELD.search(page.text)
    assert token
    reply = client.post(
        "/console/login",
        data={"csrf": token.group(1), "username": name, "password": PASSWORD, "next": "/console/alerts/"},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return client


def test_page_lists_alerts_by_region_and_acknowledges(alerts_api: Api) -> None:
    alerts_api.client.post("/api/v1/alerts/webhook", json=webhook_body(device="stb-a1"), headers=auth())
    alerts_api.client.post(
        "/api/v1/alerts/webhook", json=webhook_body(device="stb-b1", fingerprint="cd34"), headers=auth()
    )
    console = _console(alerts_api, "operator")
    page = console.get("/console/alerts/", params={"region": REGION, "lang": "en"})
    assert page.status_code == 200
    assert 'data-testid="alert-DeviceOffline-stb-a1"' in page.text
    assert "stb-b1" not in page.text
    ack = re.search(r'action="/console/alerts/(\d+)/ack"', page.text)
    assert ack
    token = CSRF_FIELD.search(page.text)
    assert token
    done = console.post(
        f"/console/alerts/{ack.group(1)}/ack", data={"csrf": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    again = console.get("/console/alerts/", params={"region": REGION, "lang": "en"}).text
    assert "Acknowledged by operator-page" in again


def test_window_form_creates_and_ends_a_silence(alerts_api: Api) -> None:
    console = _console(alerts_api, "operator")
    page = console.get("/console/alerts/")
    token = CSRF_FIELD.search(page.text)
    assert token
    form = {"csrf": token.group(1), "station": "s-001", "hours": "1", "comment": "更换电源"}
    assert console.post("/console/alerts/maintenance", data=form, follow_redirects=False).status_code == 303
    listed = console.get("/console/alerts/").text
    window = re.search(r'data-testid="window-([0-9a-f-]+)"', listed)
    assert window
    assert "station s-001" in listed
    assert "更换电源" in listed
    end = console.post(
        f"/console/alerts/maintenance/{window.group(1)}/end",
        data={"csrf": token.group(1)},
        follow_redirects=False,
    )
    assert end.status_code == 303
    assert f"window-{window.group(1)}" not in console.get("/console/alerts/").text


def test_window_for_an_unknown_station_is_shown_on_the_form(alerts_api: Api) -> None:
    console = _console(alerts_api, "operator")
    token = CSRF_FIELD.search(console.get("/console/alerts/").text)
    assert token
    reply = console.post("/console/alerts/maintenance", data={"csrf": token.group(1), "station": "nope"})
    assert reply.status_code == 404
    assert "has no devices" in reply.text
    assert 'data-testid="window-form"' in reply.text


def test_viewer_sees_no_forms(alerts_api: Api) -> None:
    alerts_api.client.post("/api/v1/alerts/webhook", json=webhook_body(device="stb-a1"), headers=auth())
    page = _console(alerts_api, "viewer").get("/console/alerts/").text
    assert 'data-testid="alert-DeviceOffline-stb-a1"' in page
    assert "/ack" not in page
    assert 'data-testid="window-form"' not in page


def test_alerts_muted_by_a_window_are_listed_as_muted(alerts_api: Api) -> None:
    console = _console(alerts_api, "operator")
    token = CSRF_FIELD.search(console.get("/console/alerts/").text)
    assert token
    form = {"csrf": token.group(1), "region": REGION, "hours": "1"}
    assert console.post("/console/alerts/maintenance", data=form, follow_redirects=False).status_code == 303
    alert = {"labels": {"alertname": "DeviceOffline", "device": "stb-a1", "severity": "warning"}}
    httpx.post(
        f"{alerts_api.settings.alerts_alertmanager_url}/api/v2/alerts", json=[alert]
    ).raise_for_status()

    def muted_page() -> str | None:
        text = console.get("/console/alerts/").text
        return text if "muted-DeviceOffline-stb-a1" in text else None

    page = wait_until(muted_page, timeout=20, message="the silenced alert listed as muted")
    assert 'data-testid="muted-alerts"' in page
