"""Policy inheritance: settings ← region path (root first) ← station ← router; null inherits."""

from __future__ import annotations

from tests.controller.portal.conftest import REGION, Portal


def _put(portal: Portal, **body: object) -> None:
    reply = portal.client.put("/api/v1/portal/policies", json=body, headers=portal.api.user("operator"))
    assert reply.status_code == 200, reply.text


def test_each_field_comes_from_the_nearest_scope_that_sets_it(portal: Portal) -> None:
    _put(portal, scope="region", scope_key="", up_kbps=100, down_kbps=200, walled_garden=["203.0.113.1/32"])
    _put(portal, scope="region", scope_key="河南省/南阳市", up_kbps=300, session_s=7200)
    _put(portal, scope="station", scope_key="st-r1", down_kbps=900, up_kbps=None)
    _put(portal, scope="device", scope_key=portal.router, devices_per_phone=1)
    viewer = portal.api.user("viewer")
    got = portal.client.get(
        f"/api/v1/portal/policies/effective?device_id={portal.router}", headers=viewer
    ).json()
    settings = portal.api.settings
    assert (got["up_kbps"], got["down_kbps"], got["session_s"]) == (300, 900, 7200)
    assert got["devices_per_phone"] == 1
    assert got["walled_garden"] == ["203.0.113.1/32"]
    assert got["idle_timeout_s"] == settings.portal_idle_timeout_s
    assert got["sources"]["up_kbps"] == "region:河南省/南阳市"
    assert got["sources"]["down_kbps"] == "station:st-r1"
    assert got["sources"]["idle_timeout_s"] == "settings"
    portal.sms_login()
    [(_, args)] = portal.commands("portal.allow")
    assert (args["up_kbps"], args["down_kbps"]) == (300, 900)


def test_other_regions_do_not_inherit_and_policies_can_be_deleted(portal: Portal) -> None:
    _put(portal, scope="region", scope_key="湖北省", up_kbps=1)
    _put(portal, scope="region", scope_key=REGION, up_kbps=77)
    listed = portal.client.get("/api/v1/portal/policies", headers=portal.admin).json()
    got = portal.client.get(
        f"/api/v1/portal/policies/effective?device_id={portal.router}", headers=portal.admin
    )
    assert got.json()["up_kbps"] == 77
    mine = next(p for p in listed if p["scope_key"] == REGION)
    assert (
        portal.client.delete(f"/api/v1/portal/policies/{mine['id']}", headers=portal.admin).status_code == 204
    )
    got = portal.client.get(
        f"/api/v1/portal/policies/effective?device_id={portal.router}", headers=portal.admin
    )
    assert got.json()["up_kbps"] == portal.api.settings.portal_up_kbps


def test_bad_policies_are_refused(portal: Portal) -> None:
    operator = portal.api.user("operator")
    for body in ({"scope": "planet", "scope_key": "x"}, {"scope": "region", "up_kbps": -1}):
        assert portal.client.put("/api/v1/portal/policies", json=body, headers=operator).status_code == 422
    assert (
        portal.client.put(
            "/api/v1/portal/policies", json={"scope": "region"}, headers=portal.api.user("viewer")
        ).status_code
        == 403
    )
