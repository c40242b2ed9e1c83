"""Steps the portal tests share: enable the portal, log a phone in by SMS or voucher, find its session."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.e2e.portal import probes
from tests.e2e.portal.phone import Phone, form_posting_to, form_with, sms_code
from tests.e2e.portal.topology import INTERNET, STATION_CODE, WAN_IF, PortalRig
from tests.support import wait_until
from tests.support.netns import run_in

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "portal"
RATE_KBPS = 2000  # the policy's up/down cap: 2 Mbit/s
LANDING = f"http://{INTERNET}/news/today?id=7"


def record_figure(name: str, value: Any) -> None:
    """Keep a measured figure in test-artifacts/portal/figures.json (for the report, never asserted here)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "figures.json"
    figures = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def enable_portal(rig: PortalRig) -> dict[str, Any]:
    """Station policy 2 Mbit/s up and down, portal on for the router; wait until the agent applied it."""
    with rig.api() as api:
        policy = {
            "scope": "station",
            "scope_key": STATION_CODE,
            "up_kbps": RATE_KBPS,
            "down_kbps": RATE_KBPS,
            "session_s": 3600,
            "idle_timeout_s": 900,
        }
        api.put("/api/v1/portal/policies", json=policy).raise_for_status()
        reply = api.put(
            f"/api/v1/portal/hotspots/{rig.router_id}",
            json={"lan_interface": rig.lan_interface, "wan_interface": WAN_IF},
        )
        reply.raise_for_status()
    device = wait_until(
        lambda: (d := rig.device())["reported_config_version"] >= d["desired_config_version"] > 0 and d,
        timeout=60,
        interval=0.5,
        message=f"router applied the portal config\n{rig.log_tail('agent')}",
    )
    portal = dict(device["desired_config"]["portal"])
    with rig.api() as api:  # device reads hide the key; the admin reveals it on purpose
        reveal = api.get(f"/api/v1/portal/hotspots/{rig.router_id}/gateway-key")
        reveal.raise_for_status()
    portal["gateway_key"] = reveal.json()["gateway_key"]
    return portal


def nft_table(rig: PortalRig) -> str:
    done = run_in(rig.ns["rtr"], ["nft", "list", "table", "inet", "station_portal"], check=False)
    return done.stdout if done.returncode == 0 else ""


def splash_params(reply: httpx.Response) -> dict[str, str]:
    """The query of a splash redirect's Location, one value per key."""
    assert reply.is_redirect, (
        f"expected a redirect to the portal, got {reply.status_code}: {reply.text[:300]}"
    )
    query = parse_qs(urlsplit(reply.headers["location"]).query, keep_blank_values=True)
    return {key: values[0] for key, values in query.items()}


def signature_ok(gateway_key: str, params: dict[str, str]) -> bool:
    """docs/portal.md: HMAC-SHA256(bytes.fromhex(gateway_key), "gw|mac|ip|ts|url"), lowercase hex."""
    message = "|".join(params[k] for k in ("gw", "mac", "ip", "ts", "url")).encode()
    expected = hmac.new(bytes.fromhex(gateway_key), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, params.get("sig", ""))


def open_portal(phone: Phone) -> httpx.Response:
    """Any web page, as a phone does after joining the WiFi: redirected to the portal's login page."""
    page = phone.open(LANDING)
    assert page.status_code == 200, (
        f"portal page not shown: {[h.status_code for h in phone.hops]} {page.text[:500]}"
    )
    return page


def sms_login(rig: PortalRig, role: str, number: str) -> httpx.Response:
    """The SMS flow over HTTP from inside the phone's namespace; returns the final page."""
    phone = Phone(rig.ns[role])
    try:
        page = open_portal(phone)
        sent_after = int(time.time() * 1000) - 1000
        page = phone.submit(page, form_with(page, "phone"), {"phone": number})
        assert page.status_code == 200, f"send code refused: {page.status_code} {page.text[:1000]}"
        code = sms_code(rig.sms_outbox, number, after_ms=sent_after)
        page = phone.submit(page, form_posting_to(page, "/portal/sms/verify"), {"code": code})
        assert page.status_code == 200, f"code refused: {page.status_code} {page.text[:1000]}"
        return page
    finally:
        phone.close()


def voucher_login(rig: PortalRig, role: str, code: str) -> httpx.Response:
    phone = Phone(rig.ns[role])
    try:
        page = open_portal(phone)
        page = phone.submit(page, form_posting_to(page, "/portal/voucher"), {"code": code})
        assert page.status_code == 200, f"voucher refused: {page.status_code} {page.text[:1000]}"
        return page
    finally:
        phone.close()


def create_vouchers(rig: PortalRig, *, count: int = 1, duration_s: int = 3600) -> list[str]:
    with rig.api() as api:
        reply = api.post(
            "/api/v1/portal/voucher-batches", json={"count": count, "duration_s": duration_s, "note": "e2e"}
        )
        reply.raise_for_status()
        return [v["code"] for v in reply.json()["vouchers"]]


def active_session(rig: PortalRig, role: str) -> dict[str, Any]:
    """The controller's live session of the phone in namespace ``role``."""
    mac = rig.mac(role)

    def find() -> dict[str, Any] | None:
        with rig.api() as api:
            reply = api.get("/api/v1/portal/sessions", params={"status": "active", "mac": mac})
            reply.raise_for_status()
            items = reply.json()["items"]
        return dict(items[0]) if items else None

    found = wait_until(find, timeout=20, interval=0.5, message=f"active session of {role} ({mac})")
    assert found is not None
    return found


def wait_online(rig: PortalRig, role: str, timeout: float = 30) -> None:
    wait_until(
        lambda: probes.reaches_internet(rig.ns[role], INTERNET),
        timeout=timeout,
        interval=0.3,
        message=f"{role} online after login\n{rig.log_tail('agent')}",
    )


def measure_cut(rig: PortalRig, role: str, *, since: float, limit_s: float) -> float:
    """Seconds from ``since`` (time.time()) until the phone is off the internet; fails past ``limit_s``."""
    ns = rig.ns[role]
    deadline = since + limit_s
    wait_until(
        lambda: probes.cut(ns, INTERNET),
        timeout=max(0.1, deadline - time.time()),
        interval=0.05,
        message=f"{role} cut within {limit_s:g} s\n{rig.log_tail('agent')}",
    )
    return time.time() - since


def iso_to_epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
