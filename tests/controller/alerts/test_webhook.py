"""Alertmanager's webhook on the controller: authenticated, bounded, recorded by station and region."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from tests.controller.api.core_fixtures import Api
from tests.support.alerting import webhook_body

from .conftest import REGION, auth

WEBHOOK = "/api/v1/alerts/webhook"


def _post(api: Api, body: Any, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.client.post(
        WEBHOOK, content=raw, headers={"content-type": "application/json", **(headers or auth())}
    )


def test_firing_alert_is_recorded_with_its_station_and_region(alerts_api: Api) -> None:
    assert _post(alerts_api, webhook_body(device="stb-a1")).json() == {"recorded": 1}
    viewer = alerts_api.user("viewer")
    page = alerts_api.client.get("/api/v1/alerts", params={"region": REGION}, headers=viewer).json()
    assert (page["firing"], page["resolved"]) == (1, 0)
    (alert,) = page["items"]
    assert (alert["alertname"], alert["device"], alert["station_code"]) == (
        "DeviceOffline",
        "stb-a1",
        "s-001",
    )
    assert alert["region_path"].startswith(REGION + "/")
    other = alerts_api.client.get("/api/v1/alerts", params={"station": "s-002"}, headers=viewer).json()
    assert other["items"] == []


def test_resolved_updates_the_same_alert_and_acknowledgement_resets_on_refire(alerts_api: Api) -> None:
    _post(alerts_api, webhook_body(device="stb-a1"))
    operator = alerts_api.user("operator")
    (alert,) = alerts_api.client.get("/api/v1/alerts", headers=operator).json()["items"]
    acked = alerts_api.client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=operator).json()
    assert acked["acknowledged_by"].startswith("operator-")
    _post(alerts_api, webhook_body(device="stb-a1", status="resolved"))
    (resolved,) = alerts_api.client.get("/api/v1/alerts", headers=operator).json()["items"]
    assert (resolved["id"], resolved["status"], resolved["ends_at"] is not None) == (
        alert["id"],
        "resolved",
        True,
    )
    assert resolved["acknowledged_by"] == acked["acknowledged_by"]
    _post(alerts_api, webhook_body(device="stb-a1"))
    (again,) = alerts_api.client.get("/api/v1/alerts", headers=operator).json()["items"]
    assert (again["status"], again["acknowledged_by"]) == ("firing", None)


def test_viewer_cannot_acknowledge(alerts_api: Api) -> None:
    _post(alerts_api, webhook_body())
    viewer = alerts_api.user("viewer")
    (alert,) = alerts_api.client.get("/api/v1/alerts", headers=viewer).json()["items"]
    assert alerts_api.client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=viewer).status_code == 403


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer wrong-token-wrong-token"}, {"authorization": "Basic eDp5"}]
)
def test_webhook_without_the_token_is_refused(alerts_api: Api, headers: dict[str, str]) -> None:
    reply = alerts_api.client.post(WEBHOOK, json=webhook_body(), headers=headers)
    assert reply.status_code == 401
    assert alerts_api.client.get("/api/v1/alerts", headers=alerts_api.user("viewer")).json()["items"] == []


def _hostile() -> list[Any]:
    too_many = webhook_body()
    too_many["alerts"] = [dict(too_many["alerts"][0], fingerprint=f"{i:x}") for i in range(501)]
    bad_key = webhook_body()
    bad_key["alerts"][0]["labels"]["bad key\n"] = "x"
    long_value = webhook_body()
    long_value["alerts"][0]["annotations"]["summary"] = "x" * 5000
    many_labels = webhook_body()
    many_labels["alerts"][0]["labels"].update({f"l{i}": "v" for i in range(70)})
    bad_fp = webhook_body(fingerprint="'; drop table alert_records; --")
    bad_status = webhook_body()
    bad_status["alerts"][0]["status"] = "exploded"
    not_a_map = webhook_body()
    not_a_map["alerts"][0]["labels"] = ["alertname"]
    return [too_many, bad_key, long_value, many_labels, bad_fp, bad_status, not_a_map, b"{not json", b"[]"]


@pytest.mark.parametrize("body", _hostile())
def test_hostile_bodies_are_refused_and_nothing_is_recorded(alerts_api: Api, body: Any) -> None:
    assert _post(alerts_api, body).status_code == 422
    assert alerts_api.client.get("/api/v1/alerts", headers=alerts_api.user("viewer")).json()["items"] == []


def test_oversized_body_is_refused(alerts_api: Api) -> None:
    big = webhook_body()
    big["commonAnnotations"] = {f"k{i}": "x" * 4096 for i in range(64)}  # valid, but > 256 KiB
    assert len(json.dumps(big)) > alerts_api.settings.alerts_webhook_max_bytes
    assert _post(alerts_api, big).status_code == 413


def test_no_configured_token_refuses_every_webhook(alerts_api: Api) -> None:
    alerts_api.settings.alerts_webhook_token = SecretStr("")
    for headers in ({}, {"authorization": "Bearer "}, auth()):
        assert alerts_api.client.post(WEBHOOK, json=webhook_body(), headers=headers).status_code == 401


def test_a_non_numeric_content_length_is_refused(alerts_api: Api) -> None:
    reply = _post(alerts_api, webhook_body(), {**auth(), "content-length": "12abc"})
    assert reply.status_code in (400, 413)
