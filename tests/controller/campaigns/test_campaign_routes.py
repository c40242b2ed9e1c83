"""REST API of campaigns (with the fake payload): create, start, progress, plan, devices, history, roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from station_controller.main import create_app
from tests.controller.api.core_fixtures import Api
from tests.controller.campaigns.conftest import REGION, Fleet
from tests.fakes.ingest import FakeIngest


@pytest.fixture
def app_fleet(fleet: Fleet) -> Iterator[tuple[Api, Fleet]]:
    ingest = FakeIngest(publisher=fleet.publisher)
    app = create_app(fleet.settings, ingest=ingest)
    app.state.campaign_payloads = fleet.payloads
    assert app.state.campaign_scheduler is None  # disabled: the test drives the scheduler
    with TestClient(app) as client:
        yield Api(client=client, settings=fleet.settings, sessions=fleet.sessions, ingest=ingest), fleet


def body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "math-2026-05",
        "payload_kind": "fake",
        "payload": {"size": 500_000_000},
        "target": {"regions": [REGION]},
        "schedule": {"window_start": "00:30", "window_end": "05:30"},
        "waves": {"canary": ["S0001"], "percentages": [50, 100]},
        "rate_cap_bps": 16_000_000,
        "device_rate_bps": 8_000_000,
        **extra,
    }


def test_create_start_and_follow_a_campaign(app_fleet: tuple[Api, Fleet]) -> None:
    api, fleet = app_fleet
    fleet.add_stations(5)
    operator = api.user("operator")
    created = api.client.post("/api/v1/campaigns", json=body(), headers=operator)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["state"] == "draft"
    assert created.json()["max_active"] == 3
    plan = api.client.post(f"/api/v1/campaigns/{cid}/plan", json={}, headers=operator).json()
    # 5 × 0.5 GB at 8 Mbit/s links behind a 16 Mbit/s origin: 2.5 GB / 2 MB/s = 1250 s, one night.
    assert (plan["stations"], plan["nights_needed"], plan["lower_bound_nights"]) == (5, 1, 1)
    started = api.client.post(f"/api/v1/campaigns/{cid}/start", headers=operator)
    assert started.json()["state"] == "running"
    assert started.json()["wave_count"] == 3
    fleet.scheduler().step()
    fleet.report("stb-s0001", "fake.progress", campaign=cid, done=400)
    progress = api.client.get(f"/api/v1/campaigns/{cid}/progress?region_depth=2", headers=operator).json()
    assert progress["overall"]["running"] == 1
    assert progress["overall"]["pending"] == 4
    assert [w["key"] for w in progress["waves"]] == ["0", "1", "2"]
    assert progress["regions"] == [dict(progress["regions"][0], key="河南省/南阳市", total=5)]
    assert progress["overall"]["bytes_done"] == 400
    fleet.report("stb-s0001", "fake.failed", campaign=cid, reason="disk_space", retryable=False)
    fleet.scheduler().step()
    progress = api.client.get(f"/api/v1/campaigns/{cid}/progress", headers=operator).json()
    assert progress["campaign"]["state"] == "paused"
    assert progress["failures"][0]["key"] == "disk_space"
    failed = api.client.get(f"/api/v1/campaigns/{cid}/devices?state=failed", headers=operator).json()
    assert [d["device_id"] for d in failed["items"]] == ["stb-s0001"]
    assert failed["total"] == 1
    events = api.client.get(f"/api/v1/campaigns/{cid}/events?device_id=stb-s0001", headers=operator).json()
    assert [e["kind"] for e in events] == ["failed", "attempt"]
    resumed = api.client.post(f"/api/v1/campaigns/{cid}/resume", headers=operator)
    assert resumed.json()["state"] == "running"
    cancelled = api.client.post(f"/api/v1/campaigns/{cid}/cancel", headers=operator)
    assert cancelled.json()["state"] == "cancelled"
    again = api.client.post(f"/api/v1/campaigns/{cid}/cancel", headers=operator)
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


def test_viewers_read_but_cannot_change_campaigns(app_fleet: tuple[Api, Fleet]) -> None:
    api, fleet = app_fleet
    fleet.add_stations(1)
    viewer = api.user("viewer")
    assert api.client.post("/api/v1/campaigns", json=body(), headers=viewer).status_code == 403
    assert api.client.get("/api/v1/campaigns", headers=viewer).json() == []
    assert api.client.get("/api/v1/campaigns/99", headers=viewer).status_code == 404


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"target": {}}, "at least one of regions"),
        ({"waves": {"canary": ["NOPE"]}}, "canary stations not found"),
        ({"schedule": {"window_start": "9pm", "window_end": "05:00"}}, "HH:MM"),
        ({"waves": {"percentages": [50, 20]}}, "must rise"),
        ({"payload_kind": "firmware"}, "unknown payload kind"),
    ],
)
def test_bad_campaigns_are_refused_with_what_to_fix(
    app_fleet: tuple[Api, Fleet], extra: dict[str, Any], message: str
) -> None:
    api, fleet = app_fleet
    fleet.add_stations(1)
    reply = api.client.post("/api/v1/campaigns", json=body(**extra), headers=api.user("operator"))
    assert reply.status_code == 422
    assert message in reply.json()["detail"]
