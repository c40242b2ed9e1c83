"""WiFiDog counters from memory inside the app: staff changes reach the next answer, counters reach the
database in batches (also after a failed flush and on shutdown), gateway changes apply at once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from station_controller.portal.models import PortalSession
from station_controller.portal.wifidog.runtime import WifidogRuntime
from tests.controller.portal.conftest import Portal
from tests.controller.portal.test_portal_wifidog import GW, GW_LAN, SOURCE, _auth, _login
from tests.support import wait_until


@pytest.fixture
def gw(portal: Portal) -> TestClient:
    reply = portal.client.put(
        f"/api/v1/portal/wifidog-gateways/{GW}",
        json={"allowed_sources": [f"{SOURCE}/32"], "lan_networks": [GW_LAN], "station_code": "st-r1"},
        headers=portal.admin,
    )
    assert reply.status_code == 200, reply.text
    return TestClient(portal.client.app, client=(SOURCE, 40000))


def _online(portal: Portal, gw: TestClient) -> tuple[str, str]:
    """A validated wifidog session already held in memory; returns (token, session id)."""
    token = _login(portal, gw)
    assert _auth(gw, stage="login", token=token) == "Auth: 1"
    assert _auth(gw, stage="counters", token=token, incoming="10", outgoing="10") == "Auth: 1"
    items = portal.client.get("/api/v1/portal/sessions", headers=portal.admin).json()["items"]
    return token, items[0]["id"]


def _runtime(portal: Portal) -> WifidogRuntime:
    runtime: WifidogRuntime = portal.client.app.state.wifidog  # type: ignore[attr-defined]
    return runtime


def _stored(portal: Portal, session_id: str) -> tuple[int, int, str]:
    """(bytes_down, bytes_up, status) as written in the database, without the in-memory overlay."""
    raw = sessionmaker(portal.client.app.state.engine)  # type: ignore[attr-defined]
    with raw() as session:
        record = session.get(PortalSession, session_id)
        assert record is not None
        return record.bytes_down, record.bytes_up, record.status


def test_a_kick_from_the_staff_api_makes_the_next_counters_answer_auth_0(
    portal: Portal, gw: TestClient
) -> None:
    token, session_id = _online(portal, gw)
    kicked = portal.client.post(f"/api/v1/portal/sessions/{session_id}/kick", headers=portal.admin)
    assert kicked.status_code == 200, kicked.text
    assert _auth(gw, stage="counters", token=token, incoming="20", outgoing="20") == "Auth: 0"
    assert _stored(portal, session_id)[2] == "ended"


def test_an_extension_from_the_staff_api_reaches_the_quota_check(portal: Portal, gw: TestClient) -> None:
    portal.client.put(
        "/api/v1/portal/policies",
        json={"scope": "station", "scope_key": "st-r1", "daily_quota_bytes": 1000},
        headers=portal.admin,
    )
    token, session_id = _online(portal, gw)
    reply = portal.client.post(
        f"/api/v1/portal/sessions/{session_id}/extend",
        json={"add_s": 60, "quota_bytes": 5000},
        headers=portal.admin,
    )
    assert reply.status_code == 200, reply.text
    assert _auth(gw, stage="counters", token=token, incoming="2000", outgoing="1000") == "Auth: 1"
    assert _auth(gw, stage="counters", token=token, incoming="4000", outgoing="1000") == "Auth: 0"
    assert _stored(portal, session_id) == (4000, 1000, "ended")


def test_counters_reach_the_database_in_batches_and_survive_a_failed_flush(
    portal: Portal, gw: TestClient
) -> None:
    token, session_id = _online(portal, gw)
    runtime = _runtime(portal)
    real = runtime._repository

    class Failing:
        def write_counters(self, rows: list[dict[str, Any]]) -> None:
            raise OSError("database is locked")

    runtime._repository = Failing()
    try:
        assert _auth(gw, stage="counters", token=token, incoming="700", outgoing="70") == "Auth: 1"
        assert runtime.flush_once() == 0
        # The staff API still sees the counters held in memory, and the gateway keeps being answered.
        [item] = portal.client.get("/api/v1/portal/sessions", headers=portal.admin).json()["items"]
        assert (item["bytes_down"], item["bytes_up"]) == (700, 70)
        assert _auth(gw, stage="counters", token=token, incoming="800", outgoing="80") == "Auth: 1"
    finally:
        runtime._repository = real
    wait_until(lambda: _stored(portal, session_id) == (800, 80, "active"), message="counters flushed")


def test_stopping_the_runtime_writes_the_last_counters(portal: Portal, gw: TestClient) -> None:
    token, session_id = _online(portal, gw)
    runtime = _runtime(portal)
    runtime.stop()  # what the app's shutdown does
    assert _auth(gw, stage="counters", token=token, incoming="900", outgoing="90") == "Auth: 1"
    runtime.stop()
    assert _stored(portal, session_id) == (900, 90, "active")


def test_a_session_not_in_memory_is_loaded_on_first_use(portal: Portal, gw: TestClient) -> None:
    token, session_id = _online(portal, gw)
    runtime = _runtime(portal)
    runtime.flush_once()
    assert runtime.sessions.evict(idle_s=-1) >= 1
    assert _auth(gw, stage="counters", token=token, incoming="30", outgoing="40") == "Auth: 1"
    body = {
        "device_id": GW,
        "gateway": [{"gw_id": GW, "clients": [{"id": 1, "token": "nope", "mac": "aa:bb:cc:00:00:07"}]}],
    }
    assert gw.post("/wifidog/auth/?stage=counters_v2", json=body).json() == {
        "result": [{"gw_id": GW, "auth_op": [{"id": 1, "auth_code": 0}]}]
    }
    runtime.flush_once()
    assert _stored(portal, session_id) == (30, 40, "active")


def test_gateway_changes_apply_to_the_next_counters_check(portal: Portal, gw: TestClient) -> None:
    token, _ = _online(portal, gw)
    moved = portal.client.put(
        f"/api/v1/portal/wifidog-gateways/{GW}",
        json={"allowed_sources": ["198.51.100.0/24"], "station_code": "st-r1"},
        headers=portal.admin,
    )
    assert moved.status_code == 200
    reply = gw.get("/wifidog/auth/", params={"gw_id": GW, "stage": "counters", "token": token})
    assert reply.status_code == 403
    elsewhere = TestClient(portal.client.app, client=("198.51.100.4", 40000))
    params = {"gw_id": GW, "stage": "counters", "token": token, "mac": "aa:bb:cc:11:22:33", "ip": "10.1.0.23"}
    assert elsewhere.get("/wifidog/auth/", params=params).text.strip() == "Auth: 1"
    assert (
        portal.client.delete(f"/api/v1/portal/wifidog-gateways/{GW}", headers=portal.admin).status_code == 204
    )
    assert elsewhere.get("/wifidog/auth/", params=params).status_code == 403
