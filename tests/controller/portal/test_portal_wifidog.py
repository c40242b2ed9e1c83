"""WiFiDog auth server: ping, login, auth (login/counters/logout, both field spellings), counters_v2,
portal, gw_message, roam; registered gateways only; tokens bound to gw_id + MAC + IP; quotas as Auth: 0."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.controller.portal.conftest import Portal, hidden_fields

GW = "gw-wangzhuang"
SOURCE = "203.0.113.7"
MAC = "aa:bb:cc:11:22:33"
IP = "10.1.0.23"
GW_LAN = "10.1.0.0/24"  # the gateway's LAN behind its NAT address SOURCE; its GatewayAddress is 10.1.0.1


@pytest.fixture
def gateway(portal: Portal) -> TestClient:
    """A registered gateway, and a client calling from its address."""
    reply = portal.client.put(
        f"/api/v1/portal/wifidog-gateways/{GW}",
        json={"allowed_sources": [f"{SOURCE}/32"], "lan_networks": [GW_LAN], "station_code": "st-r1"},
        headers=portal.admin,
    )
    assert reply.status_code == 200, reply.text
    return TestClient(portal.client.app, client=(SOURCE, 40000))


def _login(portal: Portal, gw: TestClient, *, mac: str = MAC, phone: str = "13800138000") -> str:
    """Phone behind the gateway logs in by SMS; returns the token the gateway receives."""
    page = gw.get(
        "/wifidog/login/",
        params={
            "gw_address": "10.1.0.1",
            "gw_port": "2060",
            "gw_id": GW,
            "mac": mac,
            "ip": IP,
            "url": "http://example.cn/",
        },
    )
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text)
    assert gw.post("/portal/sms/send", data={**form, "phone": phone}).status_code == 200
    done = gw.post(
        "/portal/sms/verify",
        data={**form, "phone": phone, "code": portal.last_code(phone), "accept_terms": "1"},
    )
    assert done.status_code == 200, done.text
    target = re.search(r'content="0;url=([^"]+)"', done.text)
    assert target is not None
    url = urlsplit(target.group(1).replace("&amp;", "&"))
    assert (url.scheme, url.netloc, url.path) == ("http", "10.1.0.1:2060", "/wifidog/auth")
    query = parse_qs(url.query)
    assert query["gw_id"] == [GW]
    return query["token"][0]


def _auth(gw: TestClient, path: str = "/wifidog/auth/", **params: str) -> str:
    reply = gw.get(path, params={"gw_id": GW, "mac": MAC, "ip": IP, **params})
    assert reply.status_code == 200, reply.text
    return reply.text.strip()


@pytest.mark.parametrize(
    "path", ["/wifidog/ping", "/wifidog/ping/", "/wifidog/ping/index.php", "/wifidog/ping.php"]
)
def test_ping_answers_pong_for_a_registered_gateway(portal: Portal, gateway: TestClient, path: str) -> None:
    reply = gateway.get(
        path, params={"gw_id": GW, "sys_uptime": "100", "sys_memfree": "2000", "sys_load": "0.1"}
    )
    assert reply.status_code == 200
    assert "Pong" in reply.text
    v2 = gateway.get(path, params={"device_id": GW, "online_clients": "3"})
    assert "Pong" in v2.text


def test_unregistered_gateway_or_wrong_source_gets_403(portal: Portal, gateway: TestClient) -> None:
    assert gateway.get("/wifidog/ping/", params={"gw_id": "gw-unknown"}).status_code == 403
    elsewhere = TestClient(portal.client.app, client=("198.51.100.9", 40000))
    for path in ("/wifidog/ping/", "/wifidog/auth/", "/wifidog/login/", "/wifidog/roam", "/wifidog/portal/"):
        assert elsewhere.get(path, params={"gw_id": GW, "stage": "login", "token": "x"}).status_code == 403
    body = {"device_id": GW, "gateway": [{"gw_id": GW, "clients": []}]}
    assert elsewhere.post("/wifidog/auth/?stage=counters_v2", json=body).status_code == 403


def test_login_then_counters_with_classic_and_apfree_names_then_logout(
    portal: Portal, gateway: TestClient
) -> None:
    token = _login(portal, gateway)
    assert _auth(gateway, stage="login", token=token) == "Auth: 1"
    assert (
        _auth(
            gateway, "/wifidog/auth/index.php", stage="counters", token=token, incoming="500", outgoing="100"
        )
        == "Auth: 1"
    )
    assert (
        _auth(
            gateway,
            "/wifidog/auth",
            stage="counters",
            token=token,
            incoming_bytes="900",
            outgoing_bytes="300",
            incoming_packets="9",
        )
        == "Auth: 1"
    )
    sessions = portal.client.get("/api/v1/portal/sessions", headers=portal.admin).json()["items"]
    assert (sessions[0]["bytes_down"], sessions[0]["bytes_up"], sessions[0]["kind"]) == (900, 300, "wifidog")
    assert _auth(gateway, stage="logout", token=token) == "Auth: 0"
    assert _auth(gateway, stage="counters", token=token, incoming="1000", outgoing="300") == "Auth: 0"
    assert portal.commands() == []  # wifidog sessions need no MQTT command


def test_a_token_replayed_or_used_from_another_mac_or_gateway_is_refused(
    portal: Portal, gateway: TestClient
) -> None:
    token = _login(portal, gateway)
    assert _auth(gateway, stage="login", token=token, mac="aa:bb:cc:99:99:99") == "Auth: 0"
    assert _auth(gateway, stage="login", token=token, ip="10.1.0.99") == "Auth: 0"
    portal.client.put(
        "/api/v1/portal/wifidog-gateways/gw-other", json={"allowed_sources": [SOURCE]}, headers=portal.admin
    )
    assert _auth(gateway, stage="login", token=token, gw_id="gw-other") == "Auth: 0"
    assert _auth(gateway, stage="login", token=token) == "Auth: 1"
    assert _auth(gateway, stage="login", token=token) == "Auth: 0"  # replay
    assert _auth(gateway, stage="counters", token=token, mac="aa:bb:cc:99:99:99") == "Auth: 0"
    assert _auth(gateway, stage="login", token="not-a-token") == "Auth: 0"
    assert _auth(gateway, stage="bogus", token=token) == "Auth: -1"


def test_counters_over_the_quota_answer_auth_0(portal: Portal, gateway: TestClient) -> None:
    portal.client.put(
        "/api/v1/portal/policies",
        json={"scope": "station", "scope_key": "st-r1", "daily_quota_bytes": 1000},
        headers=portal.admin,
    )
    token = _login(portal, gateway)
    assert _auth(gateway, stage="login", token=token) == "Auth: 1"
    assert _auth(gateway, stage="counters", token=token, incoming="600", outgoing="300") == "Auth: 1"
    assert (
        _auth(gateway, stage="counters", token=token, incoming_bytes="700", outgoing_bytes="300") == "Auth: 0"
    )
    [ended] = portal.client.get("/api/v1/portal/sessions?status=ended", headers=portal.admin).json()["items"]
    assert ended["end_reason"] == "quota"


def test_counters_past_the_session_end_answer_auth_0(portal: Portal, gateway: TestClient) -> None:
    token = _login(portal, gateway)
    assert _auth(gateway, stage="login", token=token) == "Auth: 1"
    sid = portal.client.get("/api/v1/portal/sessions", headers=portal.admin).json()["items"][0]["id"]
    from datetime import timedelta

    from station_controller.kernel.clock import utcnow
    from station_controller.portal.models import PortalSession

    with portal.api.sessions() as session:
        record = session.get(PortalSession, sid)
        assert record is not None
        record.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert _auth(gateway, stage="counters", token=token, incoming="1", outgoing="1") == "Auth: 0"


def test_counters_v2_answers_each_client(portal: Portal, gateway: TestClient) -> None:
    token = _login(portal, gateway)
    assert _auth(gateway, stage="login", token=token) == "Auth: 1"
    body = {
        "device_id": GW,
        "gateway": [
            {
                "gw_id": GW,
                "gw_channel": "1",
                "clients": [
                    {
                        "id": 7,
                        "ip": IP,
                        "mac": MAC,
                        "token": token,
                        "incoming_bytes": 50,
                        "outgoing_bytes": 20,
                    },
                    {
                        "id": 8,
                        "ip": "10.1.0.50",
                        "mac": "aa:bb:cc:00:00:08",
                        "token": "forged",
                        "incoming_bytes": 1,
                    },
                ],
            }
        ],
    }
    reply = gateway.post("/wifidog/auth/?stage=counters_v2", json=body)
    assert reply.status_code == 200
    assert reply.json() == {
        "result": [{"gw_id": GW, "auth_op": [{"id": 7, "auth_code": 1}, {"id": 8, "auth_code": 0}]}]
    }
    bad = gateway.post("/wifidog/auth/?stage=counters_v2", content=b"not json")
    assert bad.status_code == 400


def test_portal_and_gw_message_pages(portal: Portal, gateway: TestClient) -> None:
    assert gateway.get("/wifidog/portal/", params={"gw_id": GW}).status_code == 200
    for message, text in (
        ("denied", "Access denied"),
        ("activate", "Finish verification"),
        ("failed_validation", "Validation failed"),
    ):
        reply = gateway.get("/wifidog/gw_message.php", params={"message": message, "lang": "en"})
        assert reply.status_code == 200
        assert text in reply.text


def test_roam_authorises_a_device_with_a_session_in_the_area(portal: Portal, gateway: TestClient) -> None:
    assert gateway.get("/wifidog/roam", params={"gw_id": GW, "mac": MAC}).json() == {"roam": "no"}
    portal.sms_login(mac=MAC)  # online at the native router of the same station
    answer = gateway.get("/wifidog/roam/", params={"gw_id": GW, "mac": MAC, "gw_channel": "1"}).json()
    assert answer["roam"] == "yes"
    assert len(answer["client"]["token"]) >= 32
    token = answer["client"]["token"]
    assert _auth(gateway, stage="counters", token=token, incoming="1", outgoing="1") == "Auth: 1"
