"""A WiFiDog login sends the phone (and its token) back only to the gateway's own registered network and
port: a forged /wifidog/login link naming another gw_address or gw_port is refused before any login."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from station_controller.portal.models import PendingLogin
from tests.controller.portal.conftest import Portal

SOURCE = "203.0.113.7"  # the gateway's NAT (WAN) address: its calls and its phones' browsers come from here


def _register(portal: Portal, gw_id: str, **body: Any) -> TestClient:
    reply = portal.client.put(
        f"/api/v1/portal/wifidog-gateways/{gw_id}",
        json={"station_code": "st-r1", **body},
        headers=portal.admin,
    )
    assert reply.status_code == 200, reply.text
    return TestClient(portal.client.app, client=(body["allowed_sources"][0].split("/")[0], 40000))


def _login_page(gw: TestClient, gw_id: str, address: str, port: str = "2060") -> Any:
    params = {"gw_id": gw_id, "gw_address": address, "gw_port": port, "mac": "aa:bb:cc:11:22:33"}
    return gw.get("/wifidog/login/", params={**params, "ip": "10.1.0.23", "url": "http://example.cn/"})


def _pending(portal: Portal) -> int:
    with portal.api.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PendingLogin)) or 0)


def test_a_login_naming_a_foreign_gw_address_or_port_is_refused(portal: Portal) -> None:
    gw = _register(portal, "gw-nat", allowed_sources=[f"{SOURCE}/32"], lan_networks=["10.1.0.1/32"])
    for address, port in (
        ("198.51.100.66", "2060"),  # an attacker's server
        ("10.1.0.99", "2060"),  # another host on the gateway's LAN
        ("10.1.0.1", "8080"),  # the gateway, but not its GatewayPort
        ("evil.example", "2060"),  # not an IP literal
        ("", ""),
        (SOURCE, "2060"),  # lan_networks registered: the WAN address is not where phones go back to
    ):
        reply = _login_page(gw, "gw-nat", address, port)
        assert reply.status_code == 403, (address, port, reply.text[:200])
        assert 'data-page="denied"' in reply.text
    assert _pending(portal) == 0
    ok = _login_page(gw, "gw-nat", "10.1.0.1")
    assert ok.status_code == 200
    assert _pending(portal) == 1


def test_without_lan_networks_the_gw_address_must_be_in_allowed_sources(portal: Portal) -> None:
    """A routed (non-NAT) LAN: phones' browsers come from the LAN itself, registered as allowed_sources."""
    gw = _register(portal, "gw-routed", allowed_sources=["10.2.0.0/24"], gw_port=80)
    assert _login_page(gw, "gw-routed", "10.2.0.1", "80").status_code == 200
    assert _login_page(gw, "gw-routed", "10.3.0.1", "80").status_code == 403
    assert _login_page(gw, "gw-routed", "10.2.0.1", "2060").status_code == 403
    listed = portal.client.get("/api/v1/portal/wifidog-gateways", headers=portal.admin).json()
    assert [(g["gw_id"], g["lan_networks"], g["gw_port"]) for g in listed] == [("gw-routed", [], 80)]
