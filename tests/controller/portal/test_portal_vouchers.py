"""Vouchers: batch API, single use, N devices, revoke, usage, print view with inline SVG QR codes."""

from __future__ import annotations

from typing import Any

from tests.controller.portal.conftest import Portal


def _batch(portal: Portal, **fields: Any) -> dict[str, Any]:
    operator = portal.api.user("operator")
    body = {"count": 3, "duration_s": 3600, "up_kbps": 512, "down_kbps": 2048, "quota_bytes": 10**8, **fields}
    reply = portal.client.post("/api/v1/portal/voucher-batches", json=body, headers=operator)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _redeem(portal: Portal, code: str, mac: str) -> Any:
    form = portal.open(mac=mac)
    return portal.client.post("/portal/voucher", data={**form, "code": code.lower(), "accept_terms": "1"})


def test_single_use_voucher_lets_one_device_online_with_its_limits(portal: Portal) -> None:
    batch = _batch(portal)
    code = batch["vouchers"][0]["code"]
    assert len(code) == 10
    assert batch["count"] == 3
    assert len(batch["vouchers"]) == 3
    ok = _redeem(portal, code, "aa:bb:cc:00:00:01")
    assert ok.status_code == 200
    assert 'data-testid="connected"' in ok.text
    [(_, args)] = portal.commands("portal.allow")
    assert (args["up_kbps"], args["down_kbps"], args["quota_bytes"]) == (512, 2048, 10**8)
    again = _redeem(portal, code, "aa:bb:cc:00:00:02")
    assert again.status_code == 403
    assert 'data-code="voucher_rejected"' in again.text
    detail = portal.client.get(f"/api/v1/portal/voucher-batches/{batch['id']}", headers=portal.admin).json()
    assert detail["used"] == 1
    assert detail["vouchers"][0]["devices"] == ["aa:bb:cc:00:00:01"]


def test_a_voucher_for_n_devices(portal: Portal) -> None:
    code = _batch(portal, max_devices=2)["vouchers"][0]["code"]
    assert _redeem(portal, code, "aa:bb:cc:00:00:01").status_code == 200
    assert _redeem(portal, code, "aa:bb:cc:00:00:02").status_code == 200
    assert _redeem(portal, code, "aa:bb:cc:00:00:03").status_code == 403
    assert _redeem(portal, code, "aa:bb:cc:00:00:01").status_code == 200  # a device already on it returns
    expiries = {args["expires_at"] for _, args in portal.commands("portal.allow")}
    assert len(expiries) == 1  # duration counts from first use, shared by the devices


def test_revoked_and_unknown_vouchers_are_refused(portal: Portal) -> None:
    batch = _batch(portal)
    operator = portal.api.user("operator")
    code = batch["vouchers"][0]["code"]
    assert portal.client.post(f"/api/v1/portal/vouchers/{code}/revoke", headers=operator).status_code == 204
    assert _redeem(portal, code, "aa:bb:cc:00:00:01").status_code == 403
    portal.client.post(f"/api/v1/portal/voucher-batches/{batch['id']}/revoke", headers=operator)
    assert _redeem(portal, batch["vouchers"][1]["code"], "aa:bb:cc:00:00:01").status_code == 403
    assert _redeem(portal, "ZZZZZZZZZZ", "aa:bb:cc:00:00:01").status_code == 403
    assert portal.commands("portal.allow") == []


def test_guessing_vouchers_is_rate_limited(make_portal) -> None:  # type: ignore[no-untyped-def]
    portal: Portal = make_portal(portal_voucher_failures_per_minute=2)
    form = portal.open()
    for _ in range(2):
        portal.client.post("/portal/voucher", data={**form, "code": "WRONGCODE2", "accept_terms": "1"})
    reply = portal.client.post("/portal/voucher", data={**form, "code": "WRONGCODE3", "accept_terms": "1"})
    assert reply.status_code == 429


def test_print_view_has_one_inline_svg_qr_per_unused_voucher(portal: Portal) -> None:
    batch = _batch(portal, note="<b>村委会</b>")
    _redeem(portal, batch["vouchers"][0]["code"], "aa:bb:cc:00:00:01")
    operator = portal.api.user("operator")
    page = portal.client.get(f"/api/v1/portal/voucher-batches/{batch['id']}/print", headers=operator)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count("<svg") == 2
    assert page.text.count('data-testid="voucher-code"') == 2
    assert batch["vouchers"][0]["code"] not in page.text
    assert batch["vouchers"][1]["code"] in page.text
    assert "&lt;b&gt;村委会" in page.text
    everything = portal.client.get(
        f"/api/v1/portal/voucher-batches/{batch['id']}/print?unused=false", headers=operator
    )
    assert everything.text.count("<svg") == 3
    assert (
        portal.client.get(
            f"/api/v1/portal/voucher-batches/{batch['id']}/print", headers=portal.api.user("viewer")
        ).status_code
        == 403
    )
