"""Secrets only for the roles that need them: a router's gateway key for admins on explicit reveal,
unused voucher codes for operators (who print them); viewers get neither from any API or console route."""

from __future__ import annotations

from station_controller.api.deps import SESSION_COOKIE
from station_controller.redact import HIDDEN
from tests.controller.portal.conftest import Portal


def _viewer_texts(portal: Portal, headers: dict[str, str], batch_id: int) -> dict[str, str]:
    """Every route a viewer can read that touches routers or vouchers, API and console."""
    router = portal.router
    api_routes = [
        f"/api/v1/devices/{router}",
        "/api/v1/devices",
        "/api/v1/stations/st-r1",
        "/api/v1/portal/hotspots",
        "/api/v1/portal/voucher-batches",
        f"/api/v1/portal/voucher-batches/{batch_id}",
        f"/api/v1/portal/policies/effective?device_id={router}",
    ]
    texts = {route: portal.client.get(route, headers=headers).text for route in api_routes}
    portal.client.cookies.set(SESSION_COOKIE, headers["authorization"].split()[1])
    for route in ("/console/", f"/console/devices/{router}", "/console/stations/1", "/console/portal/"):
        reply = portal.client.get(route)
        assert reply.status_code == 200, (route, reply.status_code)
        texts[route] = reply.text
    texts["cookie " + api_routes[0]] = portal.client.get(api_routes[0]).text
    portal.client.cookies.clear()
    return texts


def test_a_viewer_gets_no_gateway_key_and_no_voucher_code_from_any_route(portal: Portal) -> None:
    operator, viewer = portal.api.user("operator"), portal.api.user("viewer")
    batch = portal.client.post("/api/v1/portal/voucher-batches", json={"count": 3}, headers=operator).json()
    codes = [v["code"] for v in batch["vouchers"]]
    assert len(codes) == 3
    texts = _viewer_texts(portal, viewer, batch["id"])
    for route, text in texts.items():
        assert portal.key not in text, f"{route} shows the gateway key"
        assert not any(code in text for code in codes), f"{route} shows a voucher code"
    device = portal.client.get(f"/api/v1/devices/{portal.router}", headers=viewer).json()
    assert device["desired_config"]["portal"]["gateway_key"] == HIDDEN
    masked = portal.client.get(f"/api/v1/portal/voucher-batches/{batch['id']}", headers=viewer).json()
    assert [v["code"] for v in masked["vouchers"]] == ["*******" + c[-3:] for c in codes]
    reveal = f"/api/v1/portal/hotspots/{portal.router}/gateway-key"
    assert portal.client.get(reveal, headers=viewer).status_code == 403
    assert portal.client.get(reveal, headers=operator).status_code == 403
    printed = portal.client.get(f"/api/v1/portal/voucher-batches/{batch['id']}/print", headers=viewer)
    assert printed.status_code == 403


def test_an_admin_reveals_the_key_and_operators_read_the_codes(portal: Portal) -> None:
    operator = portal.api.user("operator")
    batch = portal.client.post("/api/v1/portal/voucher-batches", json={"count": 2}, headers=operator).json()
    detail = portal.client.get(f"/api/v1/portal/voucher-batches/{batch['id']}", headers=operator).json()
    assert [v["code"] for v in detail["vouchers"]] == [v["code"] for v in batch["vouchers"]]
    printed = portal.client.get(f"/api/v1/portal/voucher-batches/{batch['id']}/print", headers=operator)
    assert all(v["code"] in printed.text for v in batch["vouchers"])
    reply = portal.client.get(f"/api/v1/portal/hotspots/{portal.router}/gateway-key", headers=portal.admin)
    assert reply.status_code == 200
    assert reply.json() == {"device_id": portal.router, "gateway_key": portal.key}
    assert reply.headers["cache-control"] == "no-store"
    # Even an admin's generic device read hides it: the reveal is explicit (and logged).
    device = portal.client.get(f"/api/v1/devices/{portal.router}", headers=portal.admin).json()
    assert device["desired_config"]["portal"]["gateway_key"] == HIDDEN
