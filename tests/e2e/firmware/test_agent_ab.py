"""Agent A/B self-update end to end: real releases, the launcher, real agent processes, real Mosquitto.

N (0.1.0) → N+1 (0.2.0) commits after the health gate and the birth shows N+1; a build that crashes
at start is abandoned after 3 starts; a build that cannot reach the broker rolls back at its health
deadline and N reports it; kill -9 and power cuts at every step leave exactly one working version;
bad releases are refused with their reason and a signed rollback release is accepted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import BrokerHandle, wait_until
from tests.agent.update import rig

pytestmark = pytest.mark.e2e

N, N1 = "0.1.0", "0.2.0"


class Releases:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.files = base / "www"
        self.files.mkdir()
        self.key = base / "fw.key"
        self.pub = rig.keygen(self.key)
        self.n = self._add(rig.build_release(base, N), "n")
        self.n1 = self._add(rig.build_release(base, N1), "n1")
        self.crash = self._add(rig.build_release(base, "0.3.0", patch=rig.CRASH), "crash")
        self.nobroker = self._add(rig.build_release(base, "0.3.1", patch=rig.NO_BROKER), "nobroker")

    def _add(self, release: Path, name: str) -> str:
        rig.sign(release, self.key)
        (self.files / name).symlink_to(release)
        return name

    def path(self, name: str) -> Path:
        return self.files / name


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    return Releases(tmp_path_factory.mktemp("fw-releases"))


@pytest.fixture(scope="module")
def server(releases: Releases) -> Iterator[rig.FileServer]:
    with rig.FileServer(releases.files) as srv:
        yield srv


@pytest.fixture
def device(
    tmp_path: Path, broker: BrokerHandle, releases: Releases
) -> Iterator[tuple[rig.Device, rig.Controller]]:
    dev = rig.Device(tmp_path, f"stb-fwab-{uuid.uuid4().hex[:8]}", broker)
    dev.install(releases.path("n"), N, releases.pub)
    ctl = rig.Controller(broker, dev.device_id)
    dev.start()
    try:
        ctl.wait_birth(N)
        yield dev, ctl
    finally:
        dev.stop()
        if dev.proc is not None and dev.proc.poll() is None:
            dev.power_cut()
        ctl.close()
        broker.remove_device(dev.device_id)


def test_update_to_n_plus_1_commits_after_health_and_birth_shows_it(device, server: rig.FileServer) -> None:
    dev, ctl = device
    seen = len(server.requests)
    job = ctl.update(server, "n1", N1)
    done = ctl.wait_terminal(job)
    assert done["state"] == "committed", dev.log_text()
    # only what changed crossed the wire: our wheels and agent.json, not the unchanged dependencies
    fetched = sorted(p.rsplit("/", 1)[-1].split("-")[0] for p, _r in server.requests[seen:] if "/files/" in p)
    assert fetched == ["agent.json", "station_agent", "station_protocol"]
    last_download = [d for d in ctl.progress(job) if d["state"] == "downloading"][-1]
    assert "reused" in last_download["detail"]
    assert ctl.states(job)[:1] == ["downloading"]
    assert {"installing", "restarting", "health_check"} <= set(ctl.states(job))
    birth = ctl.wait_birth(N1)
    assert birth["agent_slot"] == "b"
    dev.assert_one_working_version(N1)
    assert dev.boot()["active"] == "b"
    assert dev.slot_version("a") == N  # the previous version stays as the fallback
    # after a restart the birth carries the committed result
    dev.stop()
    dev.start()
    wait_until(
        lambda: any((b.get("last_update") or {}).get("state") == "committed" for b in ctl.births()),
        timeout=60,
        message="birth with last_update committed",
    )


def test_signed_rollback_release_is_accepted(device, server: rig.FileServer, releases: Releases) -> None:
    dev, ctl = device
    assert ctl.wait_terminal(ctl.update(server, "n1", N1))["state"] == "committed", dev.log_text()
    ctl.wait_birth(N1)
    name = rig.resign(releases.path("n"), releases.key, "n-rollback", rollback_of=N1)
    plain = ctl.wait_terminal(ctl.update(server, "n", N))
    assert (plain["state"], plain["reason"]) == ("refused", "not_newer")
    done = ctl.wait_terminal(ctl.update(server, name, N))
    assert done["state"] == "committed", dev.log_text()
    dev.assert_one_working_version(N)
    assert dev.boot()["active"] == "a"


def test_build_that_crashes_at_start_is_abandoned_after_3_starts(device, server: rig.FileServer) -> None:
    dev, ctl = device
    job = ctl.update(server, "crash", "0.3.0")
    done = ctl.wait_terminal(job, timeout=180)
    assert (done["state"], done["reason"]) == ("rolled_back", "crashed_at_start"), dev.log_text()
    assert done["attempt"] == 3
    assert dev.log_text(tail=0).count("RuntimeError: this build crashes at start") == 3
    assert not (dev.root / "job.json").exists()  # N does not try the abandoned build again
    dev.assert_one_working_version(N)
    last = wait_until(lambda: [b for b in ctl.births() if b.get("last_update")], timeout=30, message="birth")
    assert last[-1]["agent_version"] == N


def test_build_that_cannot_reach_the_broker_rolls_back_at_its_deadline(
    device, server: rig.FileServer
) -> None:
    dev, ctl = device
    job = ctl.update(server, "nobroker", "0.3.1", health_deadline_s=6)
    done = ctl.wait_terminal(job, timeout=180)
    assert (done["state"], done["reason"]) == ("rolled_back", "broker_unreachable"), dev.log_text()
    assert done["version"] == "0.3.1"
    dev.assert_one_working_version(N)
    # reported by N once it was back on the broker; the trial build itself never got through
    assert all(b["agent_version"] != "0.3.1" for b in ctl.births())


STEPS = ["download", "unpack", "switch", "first_start", "before_commit"]


@pytest.mark.parametrize("mode", ["agent", "power"])
@pytest.mark.parametrize("step", STEPS)
def test_kill_at_each_step_leaves_one_working_version(
    device, server: rig.FileServer, step: str, mode: str
) -> None:
    dev, ctl = device
    dev.stop()
    dev.start(fault=f"{step} {mode}")
    ctl.wait_birth(N)
    if step == "download":
        server.rate_bps = 2_000_000  # slow enough that the kill lands mid-file
    job = ctl.update(server, "n1", N1)
    try:
        if mode == "power":
            dev.wait_dead(timeout=120)
            assert not (dev.base / "fault").exists()  # the fault fired
            for slot in ("a", "b"):
                info = dev.root / "slots" / slot / "SLOT.json"
                if info.exists():  # a slot a launcher could start is always complete
                    assert (dev.root / "slots" / slot / "site" / "station_agent" / "__init__.py").exists()
            dev.start(boot_id=str(uuid.uuid4()))  # the box powers up again: a new boot
        done = ctl.wait_terminal(job, timeout=180)
    finally:
        server.rate_bps = 0
    assert not (dev.base / "fault").exists(), "the fault never fired"
    assert done["state"] == "committed", dev.log_text()
    dev.assert_one_working_version(N1)
    if mode == "power":
        new_boot = (dev.base / "boot_id").read_text().strip()
        assert ctl.wait_birth(N1)["boot_id"] == new_boot
    if step == "download":
        ranged = [r for _p, r in server.requests if r]
        assert ranged, "the download did not resume with Range after the kill"


def _doc(releases: Releases, name: str) -> dict:
    return json.loads((releases.path(name) / "manifest.signed.json").read_text())


def _write_doc(releases: Releases, name: str, doc: dict) -> str:
    out = releases.files / name
    out.mkdir(exist_ok=True)
    (out / "manifest.signed.json").write_text(json.dumps(doc))
    if not (out / "files").exists():
        (out / "files").symlink_to(releases.path("n1") / "files")
    return name


def test_bad_releases_are_refused_with_their_reason(
    device, server: rig.FileServer, releases: Releases
) -> None:
    dev, ctl = device
    other_key = releases.base / f"other-{uuid.uuid4().hex[:6]}.key"
    rig.keygen(other_key)
    content_key = releases.base / f"content-{uuid.uuid4().hex[:6]}.key"
    content_pub = rig.keygen(content_key)
    dev.pin(*content_pub, role_dir="content")  # pinned, but as a content key
    cases = {
        "unsigned": _write_doc(releases, "unsigned", {**_doc(releases, "n1"), "signatures": []}),
        "tampered": _write_doc(
            releases,
            "tampered",
            {**_doc(releases, "n1"), "manifest": {**_doc(releases, "n1")["manifest"], "notes": "x"}},
        ),
        "unknown_key": rig.resign(releases.path("n1"), other_key, "wrongkey"),
        "wrong_role_key": rig.resign(releases.path("n1"), content_key, "contentkey"),
        "expired": rig.resign(releases.path("n1"), releases.key, "expired", expires_ms=1_000),
        "incompatible": rig.resign(
            releases.path("n1"),
            releases.key,
            "incompat",
            compatibility={**_doc(releases, "n1")["manifest"]["compatibility"], "roles": ["router"]},
        ),  # fmt: skip
        "not_newer": "n",
    }
    expected = {"wrong_role_key": "unknown_key"}
    for case, name in cases.items():
        version = N if name == "n" else N1
        done = ctl.wait_terminal(ctl.update(server, name, version))
        assert (done["state"], done["reason"]) == ("refused", expected.get(case, case)), (case, done)
    # a wheel altered on the server: the manifest verifies, the file does not
    wheel = next((releases.path("n1") / "files" / "wheels").glob("station_agent-*.whl"))
    bad = releases.files / "badfile"
    (bad / "files" / "wheels").mkdir(parents=True, exist_ok=True)
    (bad / "manifest.signed.json").write_bytes((releases.path("n1") / "manifest.signed.json").read_bytes())
    for f in (releases.path("n1") / "files").rglob("*"):
        if f.is_file():
            target = bad / "files" / f.relative_to(releases.path("n1") / "files")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    (bad / "files" / "wheels" / wheel.name).write_bytes(wheel.read_bytes()[:-10] + b"0123456789")
    done = ctl.wait_terminal(ctl.update(server, "badfile", N1))
    assert (done["state"], done["reason"]) == ("refused", "tampered"), done
    dev.assert_one_working_version(N)
    assert dev.boot()["active"] == "a"
