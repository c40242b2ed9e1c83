"""WiFiDog idle timeout from real traffic: the gateway's own per-client probe (a ping each CheckInterval)
grows the counters a little on a silent phone; that is not activity, so the session ends with Auth: 0
after the policy's idle timeout. Driven by the app's WiFiDog clock, not by sleeping."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.controller.portal.conftest import Portal, PortalFactory
from tests.controller.portal.test_portal_wifidog import GW, GW_LAN, SOURCE, _auth, _login
from tests.fakes.clock import SecondsClock

IDLE_S = 300
CHECK_S = 60  # wifidog.conf CheckInterval: one counters report (and one probe) per client per minute
PROBE = 84  # an ICMP echo of the gateway's ping, each way


def _setup(make_portal: PortalFactory) -> tuple[Portal, TestClient, SecondsClock, str]:
    clock = SecondsClock(float(int(time.time())))  # whole seconds: datetimes keep only microseconds
    portal = make_portal(wifidog_clock=clock, portal_idle_timeout_s=IDLE_S)
    reply = portal.client.put(
        f"/api/v1/portal/wifidog-gateways/{GW}",
        json={"allowed_sources": [f"{SOURCE}/32"], "lan_networks": [GW_LAN], "station_code": "st-r1"},
        headers=portal.admin,
    )
    assert reply.status_code == 200, reply.text
    gw = TestClient(portal.client.app, client=(SOURCE, 40000))
    token = _login(portal, gw)
    assert _auth(gw, stage="login", token=token) == "Auth: 1"
    return portal, gw, clock, token


def _session(portal: Portal) -> dict[str, Any]:
    [item] = portal.client.get("/api/v1/portal/sessions?status=", headers=portal.admin).json()["items"]
    return dict(item)


def test_a_session_with_only_probe_traffic_ends_after_the_idle_timeout(make_portal: PortalFactory) -> None:
    portal, gw, clock, token = _setup(make_portal)
    down, up = 250_000, 40_000  # the phone used the web right after logging in
    assert _auth(gw, stage="counters", token=token, incoming=str(down), outgoing=str(up)) == "Auth: 1"
    for _ in range(IDLE_S // CHECK_S - 1):
        clock.now += CHECK_S
        down, up = down + PROBE, up + PROBE
        assert _auth(gw, stage="counters", token=token, incoming=str(down), outgoing=str(up)) == "Auth: 1"
    clock.now += CHECK_S  # IDLE_S since the last real traffic
    down, up = down + PROBE, up + PROBE
    assert _auth(gw, stage="counters", token=token, incoming=str(down), outgoing=str(up)) == "Auth: 0"
    record = _session(portal)
    assert (record["status"], record["end_reason"]) == ("ended", "idle")
    assert record["ended_at"].endswith(("Z", "+00:00"))  # API timestamps carry UTC
    assert (record["bytes_down"], record["bytes_up"]) == (down, up)  # the probes still counted as bytes
    assert _auth(gw, stage="counters", token=token, incoming=str(down + 10**6), outgoing=str(up)) == "Auth: 0"


def test_real_traffic_keeps_the_session_past_the_idle_timeout(make_portal: PortalFactory) -> None:
    portal, gw, clock, token = _setup(make_portal)
    down = 0
    for _ in range(3 * IDLE_S // CHECK_S):
        clock.now += CHECK_S
        down += portal.api.settings.portal_wifidog_probe_bytes + 1  # a little more than probes explain
        assert _auth(gw, stage="counters", token=token, incoming=str(down), outgoing="0") == "Auth: 1"
    assert _session(portal)["status"] == "active"


def test_a_session_never_used_after_login_ends_idle_from_the_login_check(make_portal: PortalFactory) -> None:
    portal, gw, clock, token = _setup(make_portal)
    clock.now += IDLE_S - 1
    assert _auth(gw, stage="counters", token=token, incoming=str(PROBE), outgoing=str(PROBE)) == "Auth: 1"
    clock.now += 1
    assert _auth(gw, stage="counters", token=token, incoming=str(2 * PROBE), outgoing=str(PROBE)) == "Auth: 0"
    assert _session(portal)["end_reason"] == "idle"
