"""Alerts end to end on real engines: the demo agent stops → vmalert's DeviceOffline fires after its
tolerance → Alertmanager routes it to the controller (alerts API) and, through the controller's relays,
to DingTalk/WeCom-shaped robots (a recording receiver) → the agent comes back → resolved. A maintenance
window for the demo region (an Alertmanager silence) then keeps the next outage from notifying anyone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import wait_until

from .conftest import DEMO_STATION_CODE, AlertStack

pytestmark = pytest.mark.e2e
FIRE_TIMEOUT_S = 120.0  # bounded waits: tolerance 15 s + evaluation 2 s + group wait 1 s, with slack


def _offline_alerts(stack: AlertStack, status: str) -> list[dict[str, Any]]:
    with stack.api() as api:
        page = api.get("/api/v1/alerts", params={"station": DEMO_STATION_CODE, "status": status}).json()
    return [
        a for a in page["items"] if a["alertname"] == "DeviceOffline" and a["device"] == stack.demo_device_id
    ]


def _robot_messages(stack: AlertStack, path: str, word: str) -> list[dict[str, Any]]:
    key = "text" if path == "/dingtalk" else "content"
    return [
        body
        for body in stack.receiver.bodies(path)
        if stack.demo_device_id in body["markdown"][key] and word in body["markdown"][key]
    ]


def _held(stack: AlertStack) -> list[dict[str, Any]]:
    rows = httpx.get(f"{stack.alertmanager_url}/api/v2/alerts", params={"silenced": "true"}).json()
    return [r for r in rows if r["labels"].get("device") == stack.demo_device_id]


def _stored_seq(stack: AlertStack) -> list[Any]:
    url = stack.stack.settings.tsdb_query_url
    httpx.get(f"{url}/internal/force_flush", timeout=10).raise_for_status()
    query = {"query": f'telemetry_seq{{device="{stack.demo_device_id}"}}', "nocache": "1"}
    return list(httpx.get(f"{url}/api/v1/query", params=query, timeout=10).json()["data"]["result"])


def test_offline_fires_notifies_resolves_and_maintenance_mutes(alert_stack: AlertStack) -> None:
    stack = alert_stack
    wait_until(
        lambda: _stored_seq(stack), timeout=60, message="the demo agent's telemetry in VictoriaMetrics"
    )
    stack.stop_agent()
    (firing,) = wait_until(
        lambda: _offline_alerts(stack, "firing"),
        timeout=FIRE_TIMEOUT_S,
        message="DeviceOffline in the alerts API",
    )
    assert firing["severity"] == "warning"
    assert firing["region_path"] == stack.demo_region
    ding = wait_until(
        lambda: _robot_messages(stack, "/dingtalk", "FIRING"), timeout=30, message="DingTalk message"
    )
    assert ding[0]["msgtype"] == "markdown"
    assert "DeviceOffline" in ding[0]["markdown"]["title"]
    wecom = wait_until(
        lambda: _robot_messages(stack, "/wecom", "FIRING"), timeout=30, message="WeCom message"
    )
    assert wecom[0]["msgtype"] == "markdown"
    generic = wait_until(lambda: stack.receiver.bodies("/generic"), timeout=30, message="generic webhook")
    assert generic[0]["alerts"][0]["labels"]["alertname"] == "DeviceOffline"

    stack.start_agent()
    (resolved,) = wait_until(
        lambda: _offline_alerts(stack, "resolved"), timeout=FIRE_TIMEOUT_S, message="DeviceOffline resolved"
    )
    assert (resolved["id"], resolved["ends_at"] is not None) == (firing["id"], True)
    wait_until(
        lambda: _robot_messages(stack, "/dingtalk", "RESOLVED"), timeout=30, message="resolved message"
    )
    wait_until(lambda: not _held(stack), timeout=FIRE_TIMEOUT_S, message="Alertmanager dropped the alert")

    with stack.api() as api:
        window = api.post(
            "/api/v1/alerts/maintenance", json={"region": stack.demo_region, "hours": 1, "comment": "e2e"}
        )
        assert window.status_code == 201, window.text
    silence_id = window.json()["id"]
    before = len(stack.receiver.received)
    stack.stop_agent()
    held = wait_until(
        lambda: [a for a in _held(stack) if a["status"]["state"] == "suppressed"],
        timeout=FIRE_TIMEOUT_S,
        message="the new outage held by Alertmanager, suppressed",
    )
    assert held[0]["status"]["silencedBy"] == [silence_id]
    assert held[0]["labels"]["alertname"] == "DeviceOffline"
    # Several group waits/intervals later nothing was sent: a silence mutes every receiver.
    unmuted = _wait_for_a_notification(stack, before, seconds=12.0)
    assert unmuted == []
    stack.start_agent()
    wait_until(lambda: not _held(stack), timeout=FIRE_TIMEOUT_S, message="back online: alert gone")


def _wait_for_a_notification(stack: AlertStack, before: int, *, seconds: float) -> list[Any]:
    """What arrived after ``before`` within ``seconds`` (empty if nothing did)."""
    try:
        return wait_until(lambda: stack.receiver.received[before:], timeout=seconds, message="a notification")
    except AssertionError:
        return []
