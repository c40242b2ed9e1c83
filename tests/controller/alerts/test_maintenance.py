"""Maintenance windows are Alertmanager silences, created through its API v2 (real Alertmanager)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from station_controller.alerts.alertmanager import AlertmanagerClient, Matcher
from station_controller.devstack.alertmanager import AlertmanagerService
from tests.controller.api.core_fixtures import Api
from tests.support import wait_until

from .conftest import REGION


def test_adapter_creates_lists_and_expires_a_silence(alertmanager: AlertmanagerService) -> None:
    client = AlertmanagerClient(alertmanager.url)
    now = datetime.now(UTC)
    silence_id = client.create_silence(
        matchers=[Matcher("device", "stb-1|stb-2", is_regex=True)],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="tester",
        comment="[region a/b] fixing the mast",
    )
    (found,) = [s for s in client.silences() if s.id == silence_id]
    assert (found.state, found.created_by, found.matchers) == (
        "active",
        "tester",
        (Matcher("device", "stb-1|stb-2", True),),
    )
    client.expire_silence(silence_id)
    assert [s.state for s in client.silences() if s.id == silence_id] == ["expired"]


def test_adapter_sees_an_alert_muted_by_its_silence(alertmanager: AlertmanagerService) -> None:
    client = AlertmanagerClient(alertmanager.url)
    now = datetime.now(UTC)
    silence_id = client.create_silence(
        matchers=[Matcher("device", "stb-9")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="t",
        comment="",
    )
    alert = {"labels": {"alertname": "DeviceOffline", "device": "stb-9", "severity": "warning"}}
    httpx.post(f"{alertmanager.url}/api/v2/alerts", json=[alert]).raise_for_status()
    held = wait_until(lambda: [a for a in client.alerts() if a.labels.get("device") == "stb-9"], timeout=20)
    assert (held[0].state, held[0].silenced_by) == ("suppressed", (silence_id,))


def test_region_window_from_the_api_silences_its_devices_only(alerts_api: Api) -> None:
    operator = alerts_api.user("operator")
    reply = alerts_api.client.post(
        "/api/v1/alerts/maintenance",
        json={"region": REGION, "hours": 2, "comment": "电力检修"},
        headers=operator,
    )
    assert reply.status_code == 201, reply.text
    (window,) = alerts_api.client.get("/api/v1/alerts/maintenance", headers=operator).json()
    assert (window["id"], window["target"], window["comment"]) == (
        reply.json()["id"],
        f"region {REGION}",
        "电力检修",
    )
    assert sorted(window["devices"]) == ["stb-a1", "stb-a2"]
    ends = datetime.fromisoformat(window["ends_at"])
    assert timedelta(hours=1.9) < ends - datetime.now(UTC) <= timedelta(hours=2)
    end = alerts_api.client.delete(f"/api/v1/alerts/maintenance/{window['id']}", headers=operator)
    assert end.status_code == 204
    assert alerts_api.client.get("/api/v1/alerts/maintenance", headers=operator).json() == []


def test_window_needs_one_target_with_devices(alerts_api: Api) -> None:
    operator = alerts_api.user("operator")
    post = alerts_api.client.post
    assert post("/api/v1/alerts/maintenance", json={}, headers=operator).status_code == 422
    both = {"region": REGION, "station": "s-001"}
    assert post("/api/v1/alerts/maintenance", json=both, headers=operator).status_code == 422
    empty = post("/api/v1/alerts/maintenance", json={"region": "西藏"}, headers=operator)
    assert empty.status_code == 404
    viewer = alerts_api.user("viewer")
    assert post("/api/v1/alerts/maintenance", json={"station": "s-001"}, headers=viewer).status_code == 403
