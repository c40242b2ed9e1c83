"""Jobs, secrets and inventory over HTTP: roles, per-device results, logs, SSE, retry, no secret echoed."""

from __future__ import annotations

import pytest

from station_controller.provisioning.jobs.runner import JobRunner
from tests.controller.api.core_fixtures import Api
from tests.controller.provisioning.fakes import FleetAction, poll, register_devices

PASSWORD = "Ruijie#village-77"


@pytest.fixture
def fleet_api(api: Api) -> Api:  # noqa: F811
    runner: JobRunner = api.client.app.state.job_runner  # type: ignore[attr-defined]
    runner.actions.add(FleetAction())
    register_devices(api.sessions, api.settings, count=12)
    return api


def test_a_job_over_http_reports_each_device_and_retries_only_failures(fleet_api: Api) -> None:
    client, operator = fleet_api.client, fleet_api.user("operator")
    viewer = fleet_api.user("viewer")
    body = {"action": "fake.fleet", "selector": {"tags": ["wave1"]}, "concurrency": 4}
    assert client.post("/api/v1/provisioning/jobs", json=body, headers=viewer).status_code == 403
    created = client.post("/api/v1/provisioning/jobs", json=body, headers=operator)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    poll(lambda: client.get(f"/api/v1/provisioning/jobs/{job_id}", headers=viewer).json()["finished_at"])
    job = client.get(f"/api/v1/provisioning/jobs/{job_id}", headers=viewer).json()
    assert job["counts"] == {"changed": 6, "ok": 4, "unreachable": 1, "failed": 1}
    by_device = {d["device_id"]: d["status"] for d in job["devices"]}
    assert by_device["stb-sn-003"] == "unreachable"
    assert by_device["stb-sn-007"] == "failed"
    logs = client.get(f"/api/v1/provisioning/jobs/{job_id}/logs", headers=viewer).json()
    assert len(logs) == 12
    events = client.get(f"/api/v1/provisioning/jobs/{job_id}/events", headers=viewer).text
    assert "event: log" in events
    assert events.rstrip().endswith("event: done\ndata: {}")
    retry = client.post(f"/api/v1/provisioning/jobs/{job_id}/retry", headers=operator).json()
    assert retry["retry_of"] == job_id
    assert sum(retry["counts"].values()) == 2
    unknown = client.post("/api/v1/provisioning/jobs", json={**body, "action": "nope"}, headers=operator)
    assert unknown.status_code == 422
    assert "fake.fleet" in unknown.json()["detail"]


def test_secrets_are_admin_only_and_never_returned(fleet_api: Api) -> None:
    client, admin, operator = fleet_api.client, fleet_api.user("admin"), fleet_api.user("operator")
    secret = {"name": "ruijie", "kind": "password", "value": PASSWORD}
    assert client.post("/api/v1/provisioning/secrets", json=secret, headers=operator).status_code == 403
    stored = client.post("/api/v1/provisioning/secrets", json=secret, headers=admin)
    assert stored.status_code == 201
    assert PASSWORD not in stored.text
    listed = client.get("/api/v1/provisioning/secrets", headers=operator)
    assert PASSWORD not in listed.text
    assert listed.json()[0]["hint"] == "***77"
    target = {"host": "10.77.3.2", "username": "admin", "password_secret": "ruijie", "vars": {"x": 1}}
    put = client.put("/api/v1/provisioning/targets/stb-sn-001", json=target, headers=operator)
    assert put.status_code == 200
    assert PASSWORD not in put.text
    bad = client.put(
        "/api/v1/provisioning/targets/stb-sn-002",
        json={**target, "password_secret": "nope"},
        headers=operator,
    )
    assert bad.status_code == 422
    inventory = client.get("/api/v1/provisioning/inventory", params={"tag": "wave1"}, headers=operator).json()
    assert inventory["all"]["hosts"] == ["stb-sn-001"]
    assert inventory["_meta"]["hostvars"]["stb-sn-001"]["ansible_host"] == "10.77.3.2"
    assert "tag_wave1" in inventory
    assert PASSWORD not in str(inventory)
