"""Captive portal end to end in namespaces: phone ↔ router (real agent, nftables, tc) ↔ controller ↔ internet.

The tests run in file order on one rig (module fixture) and build on each other like a day at a station:
portal on → phones captive → SMS login → 2 Mbit/s cap → agent restarts → kick → voucher login → expiry.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.portal import flows, probes
from tests.e2e.portal.phone import Phone
from tests.e2e.portal.topology import CENTRE, INTERNET, INTERNET_V6, PHONES, RESOLVER, PortalRig
from tests.support import wait_until

pytestmark = pytest.mark.e2e

CUT_LIMIT_S = 5.0  # issue 3: expiry and a kick cut traffic within 5 s
RATE_TOLERANCE = 0.15
SMS_PHONE = "13800138001"
PORTAL_STATE: dict[str, str] = {}


def test_portal_config_reaches_the_router_and_loads_one_table(portal_rig: PortalRig) -> None:
    rig = portal_rig
    for phone in PHONES:  # without the portal everything passes: the blocks below can fail
        assert probes.tcp_hello(rig.ns[phone], INTERNET)
    portal = flows.enable_portal(rig)
    assert portal["enabled"] is True
    assert f"{CENTRE}/32" in portal["walled_garden"]
    PORTAL_STATE["gateway_key"] = portal["gateway_key"]
    wait_until(lambda: flows.nft_table(rig), timeout=30, message="table inet station_portal loaded")


def _redirected(ns: str) -> httpx.Response | None:
    reply = probes.http_get(ns, flows.LANDING)
    return reply if reply is not None and reply.is_redirect else None


@pytest.mark.parametrize("role", list(PHONES))
def test_before_login_only_the_portal_is_reachable(portal_rig: PortalRig, role: str) -> None:
    rig, ns = portal_rig, portal_rig.ns[role]
    reply = wait_until(
        lambda: _redirected(ns),
        timeout=30,
        message=f"{role} HTTP redirected by the splash responder\n{rig.log_tail('agent')}",
    )
    assert reply is not None
    params = flows.splash_params(reply)
    assert reply.headers["location"].startswith(f"http://{CENTRE}:8080/portal/")
    assert params["gw"] == rig.router_id
    assert params["mac"] == rig.mac(role)  # the router's own view, not anything the phone said
    assert params["ip"] == PHONES[role][0]
    assert params["url"] == flows.LANDING
    assert flows.signature_ok(PORTAL_STATE["gateway_key"], params)

    assert not probes.tcp_hello(ns, INTERNET), "direct TCP to the internet passed before login"
    assert not probes.tcp_hello(ns, INTERNET_V6), "IPv6 passed before login"
    assert not probes.dns_answers(ns, RESOLVER), "DNS to an outside resolver passed before login"
    assert not probes.probe_is_204(ns, INTERNET), "the captive-portal probe got 204 before login"
    page = probes.http_get(ns, reply.headers["location"])  # the walled garden lets the portal through
    assert page is not None
    assert page.status_code == 200


def test_sms_login_over_http_puts_the_phone_online(portal_rig: PortalRig) -> None:
    rig = portal_rig
    page = flows.sms_login(rig, "cli1", SMS_PHONE)
    assert (
        flows.LANDING.replace("&", "&amp;") in page.text or flows.LANDING in page.text
    )  # back to where it was
    flows.wait_online(rig, "cli1")
    assert probes.probe_is_204(rig.ns["cli1"], INTERNET)
    assert probes.tcp_hello(rig.ns["cli1"], INTERNET)
    session = flows.active_session(rig, "cli1")
    assert session["phone"] == SMS_PHONE
    assert session["ip"] == PHONES["cli1"][0]
    assert not probes.tcp_hello(rig.ns["cli2"], INTERNET), "the other phone got online too"


def test_two_megabit_policy_is_a_hard_cap(portal_rig: PortalRig) -> None:
    ns = portal_rig.ns["cli1"]
    down = probes.download_rate(ns, INTERNET, seconds=8, warmup=2)
    up = probes.upload_rate(ns, INTERNET, seconds=10)
    flows.record_figure("download_mbit_s", round(down.mbit_s, 3))
    flows.record_figure("upload_mbit_s", round(up.mbit_s, 3))
    target = flows.RATE_KBPS / 1000
    for name, rate in (("download", down), ("upload", up)):
        assert abs(rate.mbit_s - target) <= RATE_TOLERANCE * target, f"{name} {rate.mbit_s:.3f} Mbit/s"


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill9"])
def test_agent_restart_keeps_the_logged_in_phone_online(portal_rig: PortalRig, kill: bool) -> None:
    rig = portal_rig
    rig.stop_agent(kill=kill)
    assert probes.reaches_internet(rig.ns["cli1"], INTERNET), "the phone dropped while the agent was down"
    assert not probes.tcp_hello(rig.ns["cli2"], INTERNET), "the portal opened while the agent was down"
    rig.start_agent()
    rig.wait_router_online()
    for _ in range(3):  # the restarted agent rebuilt the table from state.db: still online, still captive
        assert probes.reaches_internet(rig.ns["cli1"], INTERNET)
        assert not probes.tcp_hello(rig.ns["cli2"], INTERNET)
        time.sleep(1)
    assert probes.probe_is_204(rig.ns["cli1"], INTERNET)


def test_kick_from_the_api_cuts_within_five_seconds(portal_rig: PortalRig) -> None:
    rig = portal_rig
    session = flows.active_session(rig, "cli1")
    flows.wait_online(rig, "cli1")
    started = time.time()
    with rig.api() as api:
        api.post(f"/api/v1/portal/sessions/{session['id']}/kick").raise_for_status()
    elapsed = flows.measure_cut(rig, "cli1", since=started, limit_s=CUT_LIMIT_S)
    flows.record_figure("kick_cut_s", round(elapsed, 2))
    assert elapsed <= CUT_LIMIT_S
    reply = probes.http_get(rig.ns["cli1"], flows.LANDING)
    assert reply is not None
    assert reply.is_redirect, "after the kick the portal must come back"


def test_voucher_login_then_expiry_cuts_within_five_seconds(portal_rig: PortalRig) -> None:
    rig = portal_rig
    (code,) = flows.create_vouchers(rig, duration_s=60)  # the shortest duration a batch allows
    flows.voucher_login(rig, "cli2", code)
    flows.wait_online(rig, "cli2")
    assert probes.probe_is_204(rig.ns["cli2"], INTERNET)
    session = flows.active_session(rig, "cli2")
    assert session["voucher_id"] is not None
    expires = flows.iso_to_epoch(session["expires_at"])
    wait_until(lambda: time.time() >= expires - 2, timeout=90, interval=0.5, message="close to expiry")
    assert probes.reaches_internet(rig.ns["cli2"], INTERNET), "cut before the session expired"
    elapsed = flows.measure_cut(rig, "cli2", since=expires, limit_s=CUT_LIMIT_S)
    flows.record_figure("expiry_cut_s", round(elapsed, 2))
    assert elapsed <= CUT_LIMIT_S
    reply = probes.http_get(rig.ns["cli2"], flows.LANDING)
    assert reply is not None
    assert reply.is_redirect, "after expiry the portal must come back"


def test_the_kicked_phone_logs_in_again_with_a_voucher(portal_rig: PortalRig) -> None:
    rig = portal_rig
    (code,) = flows.create_vouchers(rig)
    phone = Phone(rig.ns["cli1"])
    try:
        assert flows.open_portal(phone).status_code == 200
    finally:
        phone.close()
    flows.voucher_login(rig, "cli1", code)
    flows.wait_online(rig, "cli1")
    assert probes.probe_is_204(rig.ns["cli1"], INTERNET)
