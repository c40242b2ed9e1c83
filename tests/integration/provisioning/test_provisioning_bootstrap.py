"""Bootstrap a "fresh STB" (real sshd in a network namespace) through the job runner and ansible-runner.

Network: a veth from the root namespace (10.77.N.1) to the STB namespace (10.77.N.2). The whole
controller stack (DevStack: Mosquitto, VictoriaMetrics, controller) binds 10.77.N.1, so the agent
installed inside the namespace reaches the controller and the broker there; ansible connects to
10.77.N.2:22. The namespace has no systemd, so the role runs with ``station_agent_service=supervisor``
(a restart loop, roles/station_agent/templates/supervise.sh.j2). The namespace shares the file system,
so every agent path (venv, config, state) is under the test's temp dir.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from station_controller.devstack import free_port
from station_controller.devstack.run import ADMIN_USERNAME, DevStack
from station_controller.provisioning.artifacts import build_bundle
from tests.support import wait_until
from tests.support.netns import NetnsLab, popen_in, run_in, stop_process

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@dataclass
class Stb:
    ns: str
    address: str
    key: str
    root: Path


@dataclass
class Stack:
    stack: DevStack
    url: str
    token: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {self.token}"}, timeout=30)


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)  # noqa: S603,S607


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NetnsLab, str, str]]:
    subnet = random.randint(1, 250)  # noqa: S311 - a test subnet, not a secret
    host_ip, stb_ip = f"10.77.{subnet}.1", f"10.77.{subnet}.2"
    with NetnsLab() as netlab:
        ns = netlab.add("stb")
        host_if, peer = f"sfb{secrets.token_hex(3)}", f"sfp{secrets.token_hex(3)}"
        run_in(None, ["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer])
        run_in(None, ["ip", "link", "set", peer, "netns", ns])
        run_in(ns, ["ip", "link", "set", peer, "name", "eth0"])
        run_in(None, ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if])
        run_in(ns, ["ip", "addr", "add", f"{stb_ip}/30", "dev", "eth0"])
        run_in(None, ["ip", "link", "set", host_if, "up"])
        run_in(ns, ["ip", "link", "set", "eth0", "up"])
        yield netlab, host_ip, stb_ip


@pytest.fixture(scope="module")
def stb(lab: tuple[NetnsLab, str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stb]:
    """A fresh box: sshd with a generated host key and one authorized key, listening in the namespace."""
    netlab, _host_ip, stb_ip = lab
    ns = netlab.name("stb")
    tmp = tmp_path_factory.mktemp("stb")
    _keygen(tmp / "host_key")
    _keygen(tmp / "id_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    config = tmp / "sshd_config"
    config.write_text(
        f"ListenAddress {stb_ip}\nPort 22\nHostKey {tmp / 'host_key'}\nPidFile {tmp / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "Subsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    sshd = popen_in(ns, ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], log_file=tmp / "sshd.log")
    root = tmp / "box"
    try:
        wait_until(
            lambda: "listening" in (tmp / "sshd.log").read_text(errors="replace") or _accepts(ns, stb_ip),
            timeout=30,
            message="sshd listening in the namespace",
        )
        yield Stb(ns, stb_ip, (tmp / "id_ed25519").read_text(), root)
    finally:
        supervisor = root / "opt" / "supervise.sh"
        if supervisor.exists():
            run_in(ns, [str(supervisor), "stop"], check=False)
        stop_process(sshd)


def _accepts(ns: str, ip: str) -> bool:
    done = run_in(ns, ["bash", "-c", f"exec 3<>/dev/tcp/{ip}/22"], check=False)
    return bool(done.returncode == 0)


@pytest.fixture(scope="module")
def stack(lab: tuple[NetnsLab, str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The DevStack bound on the veth address, with the agent bundle prebuilt."""
    _netlab, host_ip, _stb_ip = lab
    data_dir = tmp_path_factory.mktemp("stack")
    build_bundle(data_dir / "artifacts")
    saved = dict(os.environ)
    os.environ.update(
        {
            "STATION_HTTP_HOST": host_ip,
            "STATION_HTTP_PORT": str(free_port()),
            "STATION_MQTT_HOST": host_ip,
            "STATION_MQTT_PORT": str(free_port()),
            "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",
            "STATION_PROVISIONING_ENROLL_WAIT_S": "180",
        }
    )
    os.environ.pop("STATION_PUBLIC_URL", None)
    dev = DevStack(data_dir=data_dir)
    try:
        dev.start()
        password = (data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
        url = dev.settings.public_url
        reply = httpx.post(
            f"{url}/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": password}
        )
        reply.raise_for_status()
        yield Stack(dev, url, reply.json()["token"])
    finally:
        dev.stop()
        os.environ.clear()
        os.environ.update(saved)


def _register(api: httpx.Client, box: Stb) -> str:
    api.post(
        "/api/v1/stations",
        json={
            "code": "prov-0001",
            "name": "王庄村",
            "region_path": "河南省/南阳市/唐河县/王庄村",
            "tags": ["wave1"],
        },
    ).raise_for_status()
    reply = api.post(
        "/api/v1/devices", json={"station_code": "prov-0001", "role": "stb", "serial": "STB-PROV-0001"}
    )
    reply.raise_for_status()
    device_id = str(reply.json()["device"]["id"])
    api.post(
        "/api/v1/provisioning/secrets", json={"name": "stb-root-key", "kind": "ssh_key", "value": box.key}
    ).raise_for_status()
    target = {
        "host": box.address,
        "username": "root",
        "key_secret": "stb-root-key",
        "vars": {
            "station_agent_root": str(box.root / "opt"),
            "station_agent_config_dir": str(box.root / "etc"),
            "station_agent_state_dir": str(box.root / "state"),
            "station_agent_service": "supervisor",
            "station_agent_python": "/usr/bin/python3",
            "ansible_python_interpreter": "/usr/bin/python3",
            "station_agent_telemetry_interval_s": 2,
        },
    }
    api.put(f"/api/v1/provisioning/targets/{device_id}", json=target).raise_for_status()
    return device_id


def _run_job(api: httpx.Client, device_id: str) -> dict[str, Any]:
    reply = api.post(
        "/api/v1/provisioning/jobs", json={"action": "bootstrap", "selector": {"device_ids": [device_id]}}
    )
    reply.raise_for_status()
    job_id = reply.json()["id"]

    def finished() -> dict[str, Any]:
        body: dict[str, Any] = api.get(f"/api/v1/provisioning/jobs/{job_id}").json()
        return body if body["finished_at"] else {}

    return wait_until(finished, timeout=600, interval=1.0, message=f"bootstrap job {job_id} finished")


def _log_text(api: httpx.Client, job_id: int) -> str:
    return "\n".join(line["line"] for line in api.get(f"/api/v1/provisioning/jobs/{job_id}/logs").json())


def _telemetry_points(stack: Stack, device_id: str) -> int:
    reply = httpx.get(
        f"{stack.stack.settings.tsdb_url}/api/v1/export",
        params={"match[]": f'telemetry_cpu_pct{{device="{device_id}"}}'},
    )
    return sum(1 for line in reply.text.splitlines() if line.strip())


def test_bootstrap_enrolls_a_fresh_box_and_a_second_run_changes_nothing(stack: Stack, stb: Stb) -> None:
    with stack.api() as api:
        device_id = _register(api, stb)
        first = _run_job(api, device_id)
        (result,) = first["devices"]
        assert result["status"] == "changed", (result, _log_text(api, first["id"]))
        device = api.get(f"/api/v1/devices/{device_id}").json()
        assert device["status"] == "enrolled"
        wait_until(lambda: _telemetry_points(stack, device_id), timeout=60, message="telemetry in the TSDB")

        second = _run_job(api, device_id)
        (again,) = second["devices"]
        assert again["status"] == "ok", (again, _log_text(api, second["id"]))
        assert again["data"]["changed_tasks"] == []

        text = _log_text(api, first["id"])
        assert "TASK [station_agent : Install the agent from the bundle (offline)]" in text
        assert "OPENSSH PRIVATE KEY" not in text
        assert stb.key.splitlines()[1] not in text
        secrets_listed = api.get("/api/v1/provisioning/secrets").json()
        assert stb.key.splitlines()[1] not in str(secrets_listed)
