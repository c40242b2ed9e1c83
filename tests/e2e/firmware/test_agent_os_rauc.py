"""An OS release through the real agent and real RAUC: signed bundle → ``rauc install`` over the private
D-Bus into the inactive slot → the agent's reboot command (a modelled reboot: RAUC stops, the
bootloader model picks the slot, RAUC starts with ``--override-boot-slot``) → the agent, started
again by the launcher, runs the health gate and marks the slot good (committed) or, when it cannot
reach the broker, bad, reboots back to the old slot and reports once it is connected again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import BrokerHandle, wait_until
from tests.agent.update import rig
from tests.integration.test_rauc import BOOTLOADER, COMPATIBLE, RaucRig

pytestmark = pytest.mark.e2e

REBOOT = """
import os, signal, subprocess, sys, time
base = sys.argv[1]
env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + base + "/bus.sock",
           STATION_BOOT_STATE=base + "/bootstate.json")
pid = int(open(base + "/rauc.pid").read())
os.kill(pid, signal.SIGTERM)
def alive(p):
    try:
        return "State:\\tZ" not in open(f"/proc/{p}/status").read()
    except OSError:
        return False
while alive(pid):
    time.sleep(0.05)
name = subprocess.run([sys.executable, BOOTLOADER, "boot"], env=env, capture_output=True, text=True,
                      check=True).stdout.strip()
log = open(base + "/rauc-service.log", "ab")
argv = ["rauc", "service", "--conf=" + base + "/system.conf", "--override-boot-slot=" + name]
proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
open(base + "/rauc.pid", "w").write(str(proc.pid))
for _ in range(400):
    out = subprocess.run(["rauc", "status", "--output-format=json"], env=env, capture_output=True, text=True)
    if out.returncode == 0 and '"booted":"' + name + '"' in out.stdout.replace(" ", ""):
        break
    time.sleep(0.05)
"""


class OsBox:
    def __init__(self, base: Path, broker: BrokerHandle, release_n: Path, pub: tuple[str, str]) -> None:
        (base / "rauc").mkdir()
        self.rauc = RaucRig(base / "rauc")
        assert self.rauc.service is not None
        (self.rauc.base / "rauc.pid").write_text(str(self.rauc.service.pid))
        script = base / "reboot.py"
        script.write_text(f"BOOTLOADER = {str(BOOTLOADER)!r}\n" + REBOOT)
        self.device = rig.Device(base, f"stb-fwos-{uuid.uuid4().hex[:8]}", broker)
        self.device.install(release_n, "0.1.0", pub)
        settings = json.loads((self.device.root / "update.json").read_text())
        settings["rauc"] = {"compatible": COMPATIBLE, "dbus_address": f"unix:path={self.rauc.socket}"}
        settings["reboot_command"] = [sys.executable, str(script), str(self.rauc.base)]
        (self.device.root / "update.json").write_text(json.dumps(settings))

    def close(self) -> None:
        self.device.stop()
        pid = int((self.rauc.base / "rauc.pid").read_text())
        if self.rauc.service is not None and pid != self.rauc.service.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
        if self.rauc.service is not None:
            self.rauc.service.poll()  # reap the first service if a reboot stopped it
        self.rauc.close()


@pytest.fixture(scope="module")
def base_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, tuple[str, str]]:
    base = tmp_path_factory.mktemp("fwos")
    key = base / "fw.key"
    pub = rig.keygen(key)
    release = rig.build_release(base, "0.1.0")
    rig.sign(release, key)
    return release, key, pub


@pytest.fixture
def box(tmp_path: Path, broker: BrokerHandle, base_release) -> Iterator[tuple[OsBox, rig.Controller]]:
    release, _key, pub = base_release
    os_box = OsBox(tmp_path, broker, release, pub)
    ctl = rig.Controller(broker, os_box.device.device_id)
    os_box.device.start()
    try:
        ctl.wait_birth("0.1.0")
        yield os_box, ctl
    finally:
        os_box.close()
        ctl.close()
        broker.remove_device(os_box.device.device_id)


def _os_release(box: OsBox, key: Path, version: str, www: Path) -> bytes:
    image = bytes((i * 13 + len(version)) % 251 for i in range(200_000))
    (box.rauc.base / "rootfs.img").write_bytes(image)
    out = rig.stationctl(
        "firmware", "build", "os", "--version", version, "--image", str(box.rauc.base / "rootfs.img"),
        "--compatible", COMPATIBLE, "--cert", str(box.rauc.base / "cert.pem"),
        "--key", str(box.rauc.base / "key.pem"), "--roles", "stb", "--out", str(www),
    )  # fmt: skip
    rig.sign(Path(out.strip().splitlines()[-1]), key)
    return image


def _update(ctl: rig.Controller, server: rig.FileServer, version: str, **extra: object) -> str:
    return ctl.update(server, f"os-{version}", version, kind="os", release_id=f"os-{version}", **extra)


def test_os_update_boots_the_new_slot_and_marks_it_good(box, base_release, tmp_path: Path) -> None:
    os_box, ctl = box
    www = tmp_path / "www"
    image = _os_release(os_box, base_release[1], "2026.12.1", www)
    with rig.FileServer(www) as server:
        job = _update(ctl, server, "2026.12.1")
        done = ctl.wait_terminal(job, timeout=180)
    assert done["state"] == "committed", os_box.device.log_text()
    assert {"downloading", "installing", "restarting", "health_check"} <= set(ctl.states(job))
    assert os_box.rauc.slot_b.read_bytes()[: len(image)] == image  # byte for byte
    state = os_box.rauc.boot_state()
    assert (state["booted"], state["primary"], state["slots"]["B"]["state"]) == ("B", "B", "good")
    assert os_box.rauc.rauc_status()["booted"] == "B"
    recorded = json.loads((os_box.device.root / "os.json").read_text())
    assert recorded == {"os_version": "2026.12.1", "os_slot": "rootfs.1"}


def test_os_update_that_loses_the_broker_is_marked_bad_and_boots_back(
    box, base_release, tmp_path: Path, broker: BrokerHandle
) -> None:
    os_box, ctl = box
    www = tmp_path / "www"
    image = _os_release(os_box, base_release[1], "2026.12.2", www)
    dev = os_box.device
    with rig.FileServer(www) as server:
        job = _update(ctl, server, "2026.12.2", health_deadline_s=8)
        wait_until(lambda: "restarting" in ctl.states(job), timeout=120, message="restarting")
        broker.remove_device(dev.device_id)  # the new image "cannot reach" the broker
        wait_until(
            lambda: os_box.rauc.boot_state()["slots"]["B"]["state"] == "bad",
            timeout=120,
            message="marked bad",
        )
        wait_until(lambda: os_box.rauc.boot_state()["booted"] == "A", timeout=60, message="booted back")
        broker.add_device(dev.device_id, dev.password)
        done = ctl.wait_terminal(job, timeout=120)
    assert (done["state"], done["reason"]) == ("rolled_back", "broker_unreachable"), dev.log_text()
    assert os_box.rauc.slot_b.read_bytes()[: len(image)] == image
    assert os_box.rauc.rauc_status()["booted"] == "A"
