"""Firmware campaigns end to end: the dev stack (real Mosquitto, controller process with its ingest and
campaign scheduler, HTTP), releases built, signed and published with stationctl, and real agents under
the real launcher (tests/agent/update/rig.py) enrolled through the controller.

N → N+1 through a campaign (canary, then a wave): each agent switches slot, restarts through the
launcher, commits after its health check, its birth shows N+1 and the campaign counts it succeeded.
A build that crashes at start: the canary's launcher goes back to N after 3 starts, the device reports
``rolled_back``/``crashed_at_start``, the campaign pauses at the canary and no other device installs it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.update import rig
from tests.e2e.conftest import LiveStack
from tests.support import wait_until

pytestmark = pytest.mark.e2e

N, N1, CRASH = "0.1.0", "0.2.0", "0.3.0"
REGION = "河南省/南阳市/唐河县/固件村"


def stationctl(stack: LiveStack, api: httpx.Client, *args: str) -> str:
    env = {**os.environ, "STATIONCTL_URL": stack.url, "STATIONCTL_TOKEN": api.headers["authorization"][7:]}
    proc = subprocess.run([*rig.STATIONCTL, *args], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, f"stationctl {args}: {proc.stdout} {proc.stderr}"
    return proc.stdout


@dataclass
class Releases:
    pub: tuple[str, str]
    n: Path
    n1: Path
    crash: Path


@pytest.fixture(scope="module")
def api(live_stack: LiveStack) -> Iterator[httpx.Client]:
    with live_stack.api() as client:
        yield client


@pytest.fixture(scope="module")
def releases(live_stack: LiveStack, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Releases:
    """N, N+1 and a crashing build, signed offline with one firmware key the controller pins."""
    base = tmp_path_factory.mktemp("fwctl-releases")
    key = base / "fw.key"
    pub = rig.keygen(key)
    stationctl(live_stack, api, "firmware", "add-key", "--key", str(key), "--label", "e2e")
    built = Releases(
        pub,
        rig.build_release(base, N),
        rig.build_release(base, N1),
        rig.build_release(base, CRASH, patch=rig.CRASH),
    )
    for release in (built.n1, built.crash):
        rig.sign(release, key)
        assert "ready" in stationctl(live_stack, api, "firmware", "publish", str(release))
    return built


class StackBroker:
    """What rig.Device needs of a broker, on the stack's Mosquitto: accounts come from enrollment."""

    def __init__(self, stack: LiveStack, api: httpx.Client, station: str) -> None:
        self._stack, self._api, self._station = stack, api, station
        self.host, self.port = stack.broker.host, stack.broker.port
        self.device_id = ""

    def register(self) -> str:
        serial = f"FW{uuid.uuid4().hex[:8]}"
        reply = self._api.post(
            "/api/v1/devices", json={"station_code": self._station, "role": "stb", "serial": serial}
        )
        reply.raise_for_status()
        body = reply.json()
        self.device_id = str(body["device"]["id"])
        self._enroll = {"serial": serial, "token": body["token"], "agent_version": N}
        return self.device_id

    def add_device(self, device_id: str) -> str:
        assert device_id == self.device_id
        reply = httpx.post(f"{self._stack.url}/api/v1/enroll", json=self._enroll, timeout=30)
        reply.raise_for_status()
        return str(reply.json()["mqtt_password"])

    def remove_device(self, device_id: str) -> None:
        self._api.post(f"/api/v1/devices/{device_id}/revoke")


@pytest.fixture
def agents(
    live_stack: LiveStack, api: httpx.Client, releases: Releases, tmp_path: Path
) -> Iterator[list[tuple[str, rig.Device]]]:
    """Two stations, one STB each, running N under the launcher."""
    tag = uuid.uuid4().hex[:6]
    out: list[tuple[str, rig.Device]] = []
    try:
        for index in range(2):
            code = f"FW-{tag}-{index}"
            api.post(
                "/api/v1/stations", json={"code": code, "name": code, "region_path": REGION}
            ).raise_for_status()
            broker = StackBroker(live_stack, api, code)
            device = rig.Device(tmp_path / code, broker.register(), broker)
            (tmp_path / code).mkdir()
            device.install(releases.n, N, releases.pub)
            device.start()
            out.append((code, device))
        for _code, device in out:
            _wait_version(api, device.device_id, N)
        yield out
    finally:
        for _code, device in out:
            device.stop()
            if device.proc is not None and device.proc.poll() is None:
                device.power_cut()


def _firmware(api: httpx.Client, device_id: str) -> dict[str, Any]:
    reply = api.get(f"/api/v1/firmware/devices/{device_id}")
    return dict(reply.json()["device"]) if reply.status_code == 200 else {}


def _wait_version(api: httpx.Client, device_id: str, version: str) -> dict[str, Any]:
    """The device's registry view once its birth reports ``version``."""

    def found() -> dict[str, Any] | None:
        view = _firmware(api, device_id)
        return view if view.get("agent_version") == version else None

    view = wait_until(found, timeout=90, message=f"{device_id}: birth with {version}")
    assert view is not None
    return view


def _campaign(api: httpx.Client, codes: list[str], release_id: str) -> int:
    body = {
        "name": f"fw-{uuid.uuid4().hex[:6]}",
        "payload_kind": "firmware",
        "payload": {"release_id": release_id, "health_deadline_s": 60},
        "target": {"stations": codes},
        "schedule": {"window_start": None, "window_end": None},
        "waves": {"canary": codes[:1], "percentages": [100]},
        "thresholds": {"min_sample": 1, "error_pct": 0},
    }
    created = api.post("/api/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    cid = int(created.json()["id"])
    assert api.post(f"/api/v1/campaigns/{cid}/start").status_code == 200
    return cid


def _progress(api: httpx.Client, cid: int) -> dict[str, Any]:
    return dict(api.get(f"/api/v1/firmware/campaigns/{cid}/progress").json())


def _states(api: httpx.Client, cid: int) -> dict[str, str]:
    return {d["device_id"]: d["state"] for d in _progress(api, cid)["devices"]}


def test_a_campaign_takes_real_agents_from_n_to_n_plus_1_canary_first(
    api: httpx.Client, agents: list[tuple[str, rig.Device]]
) -> None:
    (code0, canary), (code1, other) = agents
    cid = _campaign(api, [code0, code1], f"agent-{N1}")
    wait_until(lambda: _states(api, cid)[canary.device_id] not in ("pending", "starting"), timeout=60,
               message="the canary got the update")  # fmt: skip
    assert _states(api, cid)[other.device_id] == "pending"  # the wave waits for the canary's commit
    wait_until(lambda: _states(api, cid)[canary.device_id] == "committed", timeout=240,
               message="canary committed " + canary.log_text())  # fmt: skip
    wait_until(lambda: set(_states(api, cid).values()) == {"committed"}, timeout=240,
               message="wave committed " + other.log_text())  # fmt: skip
    wait_until(lambda: api.get(f"/api/v1/campaigns/{cid}").json()["state"] == "finished", timeout=60,
               message="campaign finished")  # fmt: skip
    devices = api.get(f"/api/v1/campaigns/{cid}/devices").json()
    rows = devices["items"] if isinstance(devices, dict) else devices
    assert {r["device_id"]: r["state"] for r in rows} == {
        canary.device_id: "succeeded",
        other.device_id: "succeeded",
    }
    for device in (canary, other):
        view = _wait_version(api, device.device_id, N1)
        assert view["agent_slot"] == "b"
        device.assert_one_working_version(N1)
        history = [
            h["state"] for h in api.get(f"/api/v1/firmware/devices/{device.device_id}").json()["history"]
        ]
        assert {"downloading", "installing", "restarting", "health_check", "committed"} <= set(history)
    dist = api.get("/api/v1/firmware/distribution", params={"region": REGION, "depth": 4}).json()
    assert dist[REGION][N1] >= 2


def test_a_crashing_build_pauses_the_campaign_at_the_canary_and_nobody_else_installs_it(
    api: httpx.Client, agents: list[tuple[str, rig.Device]]
) -> None:
    (code0, canary), (code1, other) = agents
    cid = _campaign(api, [code0, code1], f"agent-{CRASH}")
    wait_until(lambda: api.get(f"/api/v1/campaigns/{cid}").json()["state"] == "paused", timeout=300,
               message="campaign paused " + canary.log_text())  # fmt: skip
    progress = _progress(api, cid)
    rows = {d["device_id"]: d for d in progress["devices"]}
    assert (rows[canary.device_id]["state"], rows[canary.device_id]["reason"]) == (
        "rolled_back",
        "crashed_at_start",
    )
    assert rows[other.device_id]["state"] == "pending"
    canary.assert_one_working_version(N)
    assert canary.log_text(tail=0).count("RuntimeError: this build crashes at start") == 3
    view = _firmware(api, other.device_id)
    assert view["state"] is None  # never sent the release
    other.assert_one_working_version(N)
    last = wait_until(
        lambda: (_firmware(api, canary.device_id).get("last_update") or {}).get("state"),
        timeout=60,
        message="birth reports the last update",
    )
    assert last == "rolled_back"
