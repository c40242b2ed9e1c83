"""Config API, console pages and the stationctl parser: drafts → diff → publish, fleet state, backups."""

from __future__ import annotations

import re
import socket

from station_controller.provisioning.configs import device_ops
from station_controller.provisioning.legacy.ssh import SshParams
from station_controller.web.csrf import SESSION_COOKIE
from stationctl.cli import build_parser
from tests.controller.api.core_fixtures import Api
from tests.controller.provisioning.legacy.helpers import COUNTY, TEMPLATE, FakeUciRouter, add_router
from tests.support import wait_until

BASE = "/api/v1/provisioning/configs"


def test_draft_diff_publish_and_fleet_state_over_the_api(api: Api) -> None:
    device_id = add_router(api.sessions, api.settings, serial="R1", station="st-1")
    operator, viewer = api.user("operator"), api.user("viewer")
    assert api.client.post(f"{BASE}/drafts", json={"message": "x"}, headers=viewer).status_code == 403
    draft = api.client.post(f"{BASE}/drafts", json={"message": "first"}, headers=operator).json()
    items = [
        {"kind": "template", "name": "router", "value": TEMPLATE},
        {"kind": "variable", "name": "vlan_id", "value": 20},
        {"kind": "variable", "name": "guest_address", "value": "10.20.0.1/24"},
        {"kind": "variable", "name": "up_kbps", "value": 2048},
        {"kind": "variable", "name": "down_kbps", "value": 8192},
        {"kind": "variable", "name": "ssid", "value": "县 WiFi", "scope": "region", "scope_key": COUNTY},
    ]
    for item in items:
        reply = api.client.put(f"{BASE}/drafts/{draft['id']}/items", json=item, headers=operator)
        assert reply.status_code == 200, reply.text
    diff = api.client.get(f"{BASE}/drafts/{draft['id']}/diff", headers=viewer).json()
    assert diff[0]["device_id"] == device_id
    assert "+wireless.sf_guest.ssid='县 WiFi'" in diff[0]["diff"]
    assert api.client.get(f"{BASE}/routers", headers=viewer).json()["routers"][0]["state"] == "unmanaged"

    published = api.client.post(f"{BASE}/drafts/{draft['id']}/publish", headers=operator).json()
    assert (published["status"], published["seq"]) == ("published", 1)
    again = api.client.put(f"{BASE}/drafts/{draft['id']}/items", json=items[1], headers=operator)
    assert (again.status_code, again.json()["error"]) == (409, "draft_closed")
    fleet = api.client.get(f"{BASE}/routers", headers=viewer).json()
    assert fleet["summary"]["unmanaged"] == 1
    rendered = api.client.get(f"{BASE}/routers/{device_id}/render", headers=viewer).json()
    assert "wifidog.sf_guest.auth_server_path='/wifidog/'" in rendered["fragment"]

    # Push through the service with a fake router, then read state, backups and diffs back.
    router = FakeUciRouter()
    op = device_ops.RouterOp(
        ssh=SshParams(device_id=device_id, device_type="linux", host="h"),
        session_factory=api.sessions,
        settings=api.settings,
        connector=router,
        log=lambda _line: None,
    )
    assert device_ops.push(op).status == "changed"
    fleet = api.client.get(f"{BASE}/routers", params={"only": "applied"}, headers=viewer).json()
    assert [(r["device_id"], r["applied_seq"]) for r in fleet["routers"]] == [(device_id, 1)]
    history = api.client.get(f"{BASE}/routers/{device_id}/backups", headers=viewer).json()
    assert [b["reason"] for b in history] == ["post-push", "pre-push"]
    text = api.client.get(f"{BASE}/backups/{history[0]['id']}/diff", headers=viewer).text
    assert "+wireless.sf_guest.ssid='县 WiFi'" in text

    # The console shows the same, in Chinese by default.
    token = viewer["authorization"].split()[1]
    api.client.cookies.set(SESSION_COOKIE, token)
    page = api.client.get("/console/configs/")
    assert page.status_code == 200
    assert f'data-testid="state-{device_id}">已应用' in page.text
    assert "已应用 1" in page.text
    backup_page = api.client.get(f"/console/configs/backups/{history[0]['id']}")
    assert "wireless.sf_guest.ssid=&#39;县 WiFi&#39;" in backup_page.text
    assert api.client.get(f"/console/configs/routers/{device_id}").status_code == 200
    api.client.cookies.clear()
    assert api.client.get("/console/configs/", follow_redirects=False).status_code == 303


def test_stationctl_config_commands_parse() -> None:
    args = build_parser().parse_args(["config", "apply", "3", "--region", COUNTY, "--dry-run", "--quiet"])
    assert (args.draft, args.region, args.dry_run) == (3, COUNTY, True)
    drift = build_parser().parse_args(["config", "drift", "--device", "router-r1", "--device", "router-r2"])
    assert drift.device == ["router-r1", "router-r2"]
    status = build_parser().parse_args(["config", "status", "--state", "drifted"])
    assert status.state == "drifted"


def test_console_starts_a_config_job_and_shows_its_result(api: Api) -> None:
    with socket.socket() as probe:  # nobody listens here: the router is "powered off"
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    device_id = add_router(
        api.sessions, api.settings, serial="R9", station="st-9", port=port, password="pw-123456"
    )
    for role, allowed in (("viewer", False), ("operator", True)):
        api.client.cookies.set(SESSION_COOKIE, api.user(role)["authorization"].split()[1])
        page = api.client.get(f"/console/configs/routers/{device_id}")
        assert ('data-testid="run-backup"' in page.text) is allowed
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        reply = api.client.post(
            f"/console/configs/routers/{device_id}/run",
            data={"csrf": token.group(1), "button": "backup"},
            follow_redirects=False,
        )
        assert reply.status_code == (303 if allowed else 403)
    forged = api.client.post(
        f"/console/configs/routers/{device_id}/run", data={"csrf": "x", "button": "backup"}
    )
    assert forged.status_code == 403

    def finished() -> str | None:
        page = api.client.get(f"/console/configs/routers/{device_id}")
        return None if "Refresh" in page.headers else page.text

    text = wait_until(finished, timeout=60, message="the backup job finished")
    assert re.search(r'data-testid="job-\d+-status">unreachable<', text)
    assert "cannot open SSH" in text
    assert api.client.get("/console/configs/routers/router-nope").status_code == 404
