"""OS images through RAUC for real: a private D-Bus system bus, ``rauc service`` with the ``custom``
bootloader backend (firmware_images/rauc/bootloader.py, state in a file), file-backed raw slots and
``format=plain`` bundles built by ``stationctl firmware build os``; the modelled reboot restarts the
service with ``--override-boot-slot`` set to what the modelled bootloader boots.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_agent.update.health import Verdict
from station_agent.update.os_update import OsUpdater
from station_agent.update.rauc import Rauc
from station_agent.update.settings import RaucSettings
from station_agent.update.verify import verify_release
from station_protocol import firmware as fw
from support import wait_until
from tests.agent.update import rig

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BOOTLOADER = REPO / "firmware_images" / "rauc" / "bootloader.py"
COMPATIBLE = "station-test-board"
SLOT_BYTES = 1 << 20
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""
SYSTEM_CONF = """[system]
compatible={compatible}
bootloader=custom
data-directory={data}

[handlers]
bootloader-custom-backend={bootloader}

[keyring]
path={ca}

[slot.rootfs.0]
device={a}
type=raw
bootname=A

[slot.rootfs.1]
device={b}
type=raw
bootname=B
"""


class RaucRig:
    def __init__(self, base: Path) -> None:
        for tool in ("rauc", "dbus-daemon", "openssl"):
            assert shutil.which(tool), f"{tool} is not installed: run `make setup`"
        self.base = base
        self.socket = base / "bus.sock"
        self.slot_a, self.slot_b = base / "slot-a.img", base / "slot-b.img"
        self.slot_a.write_bytes(b"OLD-ROOTFS" * (SLOT_BYTES // 10) + b"\0" * (SLOT_BYTES % 10))
        self.slot_b.write_bytes(b"\0" * SLOT_BYTES)
        self.state = base / "bootstate.json"
        (base / "data").mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(base / "key.pem"),
             "-out", str(base / "cert.pem"), "-days", "30", "-subj", "/CN=station-test-rauc"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        (base / "bus.conf").write_text(BUS_CONF.format(socket=self.socket))
        (base / "system.conf").write_text(
            SYSTEM_CONF.format(
                compatible=COMPATIBLE,
                data=base / "data",
                bootloader=BOOTLOADER,
                ca=base / "cert.pem",
                a=self.slot_a,
                b=self.slot_b,
            )  # fmt: skip
        )
        self.env = {
            **os.environ,
            "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.socket}",
            "STATION_BOOT_STATE": str(self.state),
        }
        self.dbus = subprocess.Popen(["dbus-daemon", "--nofork", f"--config-file={base / 'bus.conf'}"])
        wait_until(self.socket.exists, timeout=10, message="private system bus socket")
        self.service: subprocess.Popen[bytes] | None = None
        self.boot_into("A")

    def boot_into(self, bootname: str) -> None:
        log = (self.base / "rauc-service.log").open("ab")
        self.service = subprocess.Popen(
            ["rauc", "service", f"--conf={self.base / 'system.conf'}", f"--override-boot-slot={bootname}"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until(
            lambda: self.rauc_status().get("booted") == bootname, timeout=20, message="rauc service up"
        )

    def reboot(self) -> str:
        """Modelled reboot: RAUC stops, the bootloader picks a slot, RAUC starts on that slot."""
        assert self.service is not None
        self.service.terminate()
        self.service.wait(20)
        out = subprocess.run(
            [sys.executable, str(BOOTLOADER), "boot"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        name = out.stdout.strip()
        self.boot_into(name)
        return name

    def rauc_status(self) -> dict:
        out = subprocess.run(
            ["rauc", "status", "--output-format=json", "--detailed"],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout) if out.returncode == 0 else {}

    def boot_state(self) -> dict:
        return json.loads(self.state.read_text())

    def close(self) -> None:
        for proc in (self.service, self.dbus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(20)


@pytest.fixture
def rauc(tmp_path: Path) -> Iterator[RaucRig]:
    r = RaucRig(tmp_path)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(scope="module")
def firmware_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("fw-key")
    key = base / "fw.key"
    key_id, pub = rig.keygen(key)
    pinned = base / "pinned"
    pinned.mkdir()
    (pinned / f"{key_id}.pub").write_text(pub)
    return key, pinned


def _os_release(rauc: RaucRig, key: Path, version: str, compatible: str = COMPATIBLE) -> tuple[Path, bytes]:
    image = bytes((i * 7 + len(version)) % 251 for i in range(300_000))
    (rauc.base / "rootfs.img").write_bytes(image)
    out = rig.stationctl(
        "firmware", "build", "os", "--version", version, "--image", str(rauc.base / "rootfs.img"),
        "--compatible", compatible, "--cert", str(rauc.base / "cert.pem"),
        "--key", str(rauc.base / "key.pem"), "--roles", "stb", "--out", str(rauc.base / "releases"),
    )  # fmt: skip
    release = Path(out.strip().splitlines()[-1])
    rig.sign(release, key)
    return release, image


def _updater(rauc: RaucRig) -> OsUpdater:
    settings = RaucSettings(compatible=COMPATIBLE, dbus_address=f"unix:path={rauc.socket}")
    return OsUpdater(Rauc(settings), rauc.base / "root")


def _verified(release: Path, pinned: Path) -> fw.Manifest:
    m = verify_release((release / "manifest.signed.json").read_bytes(), pinned)
    device = fw.Device("stb", "board", "0.1.0", "2026.11.1", rauc_compatible=COMPATIBLE)
    fw.admit(m, device, int(time.time() * 1000))
    return m


def _deadline(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


def test_bundle_lands_in_the_inactive_slot_and_a_healthy_boot_is_marked_good(
    rauc: RaucRig, firmware_key
) -> None:
    key, pinned = firmware_key
    release, image = _os_release(rauc, key, "2026.12.1")
    m = _verified(release, pinned)
    (rauc.base / "root").mkdir()
    updater = _updater(rauc)
    old_a = rauc.slot_a.read_bytes()
    slot = updater.install(release / "files" / m.files[0].path)
    assert slot == "rootfs.1"
    assert rauc.slot_b.read_bytes()[: len(image)] == image  # byte for byte
    assert rauc.slot_a.read_bytes() == old_a  # the booted slot untouched
    assert rauc.reboot() == "B"
    out = updater.after_boot("rootfs.1", m.version, lambda: Verdict(True), _deadline(30), lambda _s: False)
    assert (out.state, out.slot) == ("committed", "rootfs.1")
    assert rauc.boot_state()["slots"]["B"]["state"] == "good"
    assert rauc.boot_state()["primary"] == "B"
    assert rauc.reboot() == "B"  # and it stays there
    assert json.loads((rauc.base / "root" / "os.json").read_text()) == {
        "os_version": m.version,
        "os_slot": "rootfs.1",
    }


def test_failed_health_marks_the_slot_bad_and_the_next_boot_is_the_old_one(
    rauc: RaucRig, firmware_key
) -> None:
    key, pinned = firmware_key
    release, image = _os_release(rauc, key, "2026.12.2")
    m = _verified(release, pinned)
    (rauc.base / "root").mkdir()
    updater = _updater(rauc)
    updater.install(release / "files" / m.files[0].path)
    assert rauc.slot_b.read_bytes()[: len(image)] == image
    assert rauc.reboot() == "B"
    sick = Verdict(False, "self_check_failed", "kiosk does not start")
    out = updater.after_boot(
        "rootfs.1", m.version, lambda: sick, _deadline(2), lambda s: time.sleep(s) or False
    )
    assert (out.state, out.reason) == ("rolled_back", "self_check_failed")
    assert rauc.boot_state()["slots"]["B"]["state"] == "bad"
    assert rauc.reboot() == "A"
    assert rauc.rauc_status()["booted"] == "A"
    # a boot that lands on the old slot (bootloader fallback) is reported as such
    fallback = updater.after_boot(
        "rootfs.1", m.version, lambda: Verdict(True), _deadline(5), lambda _s: False
    )
    assert (fallback.state, fallback.reason) == ("rolled_back", "crashed_at_start")


def test_rauc_refuses_a_bundle_for_another_board(rauc: RaucRig, firmware_key) -> None:
    from station_agent.update.errors import RaucFailed

    key, pinned = firmware_key
    release, _image = _os_release(rauc, key, "2026.12.3", compatible="some-other-board")
    m = verify_release((release / "manifest.signed.json").read_bytes(), pinned)
    device = fw.Device("stb", "board", "0.1.0", "2026.11.1", rauc_compatible=COMPATIBLE)
    with pytest.raises(fw.Refused, match="incompatible"):
        fw.admit(m, device, int(time.time() * 1000))
    before = rauc.slot_b.read_bytes()
    with pytest.raises(RaucFailed):  # and RAUC itself would not write it either
        _updater(rauc).install(release / "files" / m.files[0].path)
    assert rauc.slot_b.read_bytes() == before
