"""Native flow: signed splash → SMS login → portal.allow; replay, token binding, roaming, kick, extend."""

from __future__ import annotations

import time

from station_controller.portal.models import LoginRecord, PortalSession, TermsAcceptance
from tests.controller.portal.conftest import IP, MAC, REGION, Portal


def test_sms_login_sends_portal_allow_with_policy_limits_and_records_it(portal: Portal) -> None:
    reply = portal.sms_login()
    assert reply.status_code == 200, reply.text
    assert 'data-testid="connected"' in reply.text
    assert 'href="http://example.cn/news?id=1"' in reply.text  # the signed original URL, offered as a link
    [(name, args)] = portal.commands("portal.allow")
    settings = portal.api.settings
    assert args["mac"] == MAC
    assert args["ip"] == IP
    assert (args["up_kbps"], args["down_kbps"]) == (settings.portal_up_kbps, settings.portal_down_kbps)
    assert args["idle_timeout_s"] == settings.portal_idle_timeout_s
    assert args["quota_bytes"] == 0
    assert abs(args["expires_at"] / 1000 - (time.time() + settings.portal_session_s)) < 120
    assert len(args["session_id"]) == 32
    with portal.api.sessions() as session:
        record = session.get(PortalSession, args["session_id"])
        assert record is not None
        assert record.phone == "13800138000"
        assert record.status == "active"
        login = session.query(LoginRecord).one()
        assert (login.phone, login.mac, login.station_code, login.method) == (
            "13800138000",
            MAC,
            "st-r1",
            "sms",
        )
        terms = session.query(TermsAcceptance).one()
        assert terms.terms_version == settings.portal_terms_version


def test_a_used_login_token_is_refused_on_replay(portal: Portal) -> None:
    form = portal.open()
    portal.client.post("/portal/sms/send", data={**form, "phone": "13800138000"})
    data = {**form, "phone": "13800138000", "code": portal.last_code("13800138000"), "accept_terms": "1"}
    assert portal.client.post("/portal/sms/verify", data=data).status_code == 200
    replay = portal.client.post("/portal/voucher", data={**form, "code": "ABCDEFGHJK", "accept_terms": "1"})
    assert replay.status_code == 403
    assert 'data-page="login_expired"' in replay.text
    assert len(portal.commands("portal.allow")) == 1


def test_a_token_is_bound_to_the_mac_it_was_issued_for(portal: Portal) -> None:
    victim = portal.open(mac="aa:bb:cc:00:00:01")
    attacker = portal.open(mac="aa:bb:cc:00:00:99")
    # The attacker's form token does not validate the victim's login token.
    mixed = {"login": victim["login"], "csrf": attacker["csrf"], "phone": "13800138000"}
    assert portal.client.post("/portal/sms/send", data=mixed).status_code == 403
    # Even a complete stolen form only ever lets the MAC the router signed online, never the attacker's.
    portal.client.post("/portal/sms/send", data={**victim, "phone": "13800138000"})
    code = portal.last_code("13800138000")
    portal.client.post(
        "/portal/sms/verify", data={**victim, "phone": "13800138000", "code": code, "accept_terms": "1"}
    )
    assert [args["mac"] for _, args in portal.commands("portal.allow")] == ["aa:bb:cc:00:00:01"]


def test_terms_must_be_accepted(portal: Portal) -> None:
    form = portal.open()
    portal.client.post("/portal/sms/send", data={**form, "phone": "13800138000"})
    data = {**form, "phone": "13800138000", "code": portal.last_code("13800138000")}
    reply = portal.client.post("/portal/sms/verify", data=data)
    assert reply.status_code == 422
    assert 'data-code="terms_not_accepted"' in reply.text
    assert portal.commands("portal.allow") == []


def test_router_unreachable_shows_a_retry_page_and_keeps_the_login_usable(portal: Portal) -> None:
    form = portal.open()
    portal.client.post("/portal/sms/send", data={**form, "phone": "13800138000"})
    code = portal.last_code("13800138000")
    portal.api.ingest.publisher.fail = True
    data = {**form, "phone": "13800138000", "code": code, "accept_terms": "1"}
    failed = portal.client.post("/portal/sms/verify", data=data)
    assert failed.status_code == 503
    assert 'data-code="router_unreachable"' in failed.text
    portal.api.ingest.publisher.fail = False
    again = portal.client.post("/portal/sms/verify", data=data)
    assert again.status_code == 200
    assert 'data-testid="connected"' in again.text


def test_a_returning_device_continues_with_one_tap_at_another_station_of_the_area(portal: Portal) -> None:
    portal.sms_login()
    other, other_key = portal.add_router("R2", region=REGION.rsplit("/", 1)[0] + "/李庄村")
    page = portal.client.get("/portal/", params=portal.splash_params(router=other, key=other_key))
    assert 'data-testid="returning"' in page.text
    from tests.controller.portal.conftest import hidden_fields

    form = hidden_fields(page.text)
    reply = portal.client.post("/portal/continue", data={**form, "accept_terms": "1"})
    assert reply.status_code == 200, reply.text
    allows = portal.commands("portal.allow")
    assert len(allows) == 2
    assert allows[1][1]["mac"] == MAC
    assert allows[1][1]["expires_at"] == allows[0][1]["expires_at"]  # the roamed session keeps its end
    with portal.api.sessions() as session:
        first = session.get(PortalSession, allows[0][1]["session_id"])
        assert first is not None
        assert first.end_reason == "roamed"


def test_no_one_tap_outside_the_roaming_area(portal: Portal) -> None:
    portal.sms_login()
    far, far_key = portal.add_router("R3", region="湖北省/武汉市/江夏区")
    page = portal.client.get("/portal/", params=portal.splash_params(router=far, key=far_key))
    assert 'data-testid="returning"' not in page.text


def test_devices_per_phone_limit_denies_a_further_device(make_portal) -> None:  # type: ignore[no-untyped-def]
    portal: Portal = make_portal(portal_devices_per_phone=1, portal_sms_cooldown_s=0)
    assert portal.sms_login(mac="aa:bb:cc:00:00:01").status_code == 200
    denied = portal.sms_login(mac="aa:bb:cc:00:00:02")
    assert denied.status_code == 403
    assert 'data-code="access_denied"' in denied.text


def test_staff_kick_and_extend_send_revoke_and_extend(portal: Portal) -> None:
    portal.sms_login()
    [(_, args)] = portal.commands("portal.allow")
    operator = portal.api.user("operator")
    viewer = portal.api.user("viewer")
    sid = args["session_id"]
    listed = portal.client.get("/api/v1/portal/sessions", headers=viewer).json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == sid
    assert portal.client.post(f"/api/v1/portal/sessions/{sid}/kick", headers=viewer).status_code == 403
    extended = portal.client.post(
        f"/api/v1/portal/sessions/{sid}/extend", json={"add_s": 3600, "quota_bytes": 10**9}, headers=operator
    )
    assert extended.status_code == 200, extended.text
    [(_, ext)] = portal.commands("portal.extend")
    assert ext["session_id"] == sid
    assert ext["quota_bytes"] == 10**9
    assert ext["expires_at"] == args["expires_at"] + 3600 * 1000
    kicked = portal.client.post(f"/api/v1/portal/sessions/{sid}/kick", headers=operator)
    assert kicked.json()["status"] == "ended"
    assert kicked.json()["end_reason"] == "revoked"
    assert portal.commands("portal.revoke") == [
        ("portal.revoke", {"session_id": sid, "mac": MAC, "reason": "revoked"})
    ]


def test_enabling_a_hotspot_pushes_the_portal_config_with_a_per_router_key(portal: Portal) -> None:
    with portal.api.sessions() as session:
        from station_controller.registry.models import Device

        device = session.get(Device, portal.router)
        assert device is not None
        assert device.desired_config is not None
        config = device.desired_config["portal"]
    assert config["gateway_key"] == portal.key
    assert len(portal.key) == 64
    assert config["portal_url"] == portal.api.settings.portal_url
    assert config["enabled"] is True
    _, other_key = portal.add_router("R9")
    assert other_key != portal.key
    rotated = portal.client.post(f"/api/v1/portal/hotspots/{portal.router}/rotate-key", headers=portal.admin)
    assert rotated.status_code == 200
    stale = portal.client.get("/portal/", params=portal.splash_params())
    assert stale.status_code == 403  # signed with the old key
    hotspots = portal.client.get("/api/v1/portal/hotspots", headers=portal.api.user("viewer")).json()
    assert {h["device_id"] for h in hotspots} >= {portal.router}
