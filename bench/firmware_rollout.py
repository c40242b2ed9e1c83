"""A live firmware rollout: 20 real agents under the real launcher behind shaped links, one campaign.

Outer process (root namespace): a "centre" namespace with a bridge and one namespace per station, each
joined by a veth shaped with tc tbf in both directions (2-8 Mbit/s, seeded), as bench/rollout_live.py.
Inside the centre (``--inner``): Mosquitto and the controller (API, ingest, campaign scheduler, the
public /firmware/ tree behind content's origin limiter); agent releases N and N+1 are built, signed and
uploaded; every station gets an A/B update root with N in slot a (launcher ``init``) and its launcher
runs in the station's namespace (the agent enrolls with a token). A ``firmware`` campaign (canary = the
first station, then one wave of the rest, no window) takes them to N+1. Measured: campaign start →
every device ``committed`` (canary and wave separately), bytes the origin served, and what a
file-level delta N → N+1 would have sent (files whose sha256 changed) against the full release.

    sudo-less (this sandbox runs as root): .venv/bin/python bench/firmware_rollout.py [--agents 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, tests.agent.update.rig
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # rig imports support

from _common import write_result  # noqa: E402

from tests.support.netns import NetnsLab, popen_in, run_in  # noqa: E402

REGION = "河南省/南阳市/唐河县/固件"
N, N1 = "0.1.0", "0.2.0"


def outer(args: argparse.Namespace) -> None:
    rng = random.Random(17)
    octet = rng.randint(1, 250)
    rates = [round(rng.uniform(2.0, 8.0), 1) for _ in range(args.agents)]
    with NetnsLab() as lab, tempfile.TemporaryDirectory(prefix="fwctl-rollout-") as tmp:
        build(Path(tmp))  # in the root namespace: stationctl fetches the dependencies from the index
        centre = lab.add("centre")
        ports, stations = [], []
        for i, rate in enumerate(rates):
            ns = lab.add(f"s{i}")
            lab.veth(centre, f"v{i}", ns, "s0")
            ports.append(f"v{i}")
            lab.address(ns, "s0", f"10.78.{octet}.{10 + i}/24")
            for where, dev in ((centre, f"v{i}"), (ns, "s0")):
                run_in(where, ["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{rate}mbit",
                               "burst", "32kb", "latency", "400ms"])  # fmt: skip
            stations.append({"ns": ns, "rate_mbit": rate})
        lab.bridge(centre, "br0", ports)
        lab.address(centre, "br0", f"10.78.{octet}.1/24")
        plan = {"host": f"10.78.{octet}.1", "stations": stations, "tmp": tmp, **vars(args)}
        argv = [sys.executable, str(Path(__file__).resolve()), "--inner", json.dumps(plan)]
        proc = popen_in(centre, argv, log_file=Path(tmp) / "inner.log")
        try:
            code = proc.wait(timeout=args.timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log = (Path(tmp) / "inner.log").read_text(encoding="utf-8", errors="replace")
        lines = [line for line in log.splitlines() if line.startswith("RESULT ")]
        if code != 0 or not lines:
            sys.stderr.write(log[-8000:])
            raise SystemExit(f"inner run failed (exit {code})")
        figures = json.loads(lines[-1][len("RESULT ") :])
        for key, value in figures.items():
            if key != "devices":
                print(f"{key:>30}: {value}")
        write_result(f"firmware_rollout_{args.agents}", figures)


# -- inside the centre namespace ---------------------------------------------------------------------
def inner(plan: dict[str, Any]) -> None:
    import httpx
    import uvicorn
    from rollout_live_inner import make_settings, start_broker, wait_for

    from station_controller.composition import build_event_handlers, build_payloads
    from station_controller.db import make_engine, make_session_factory
    from station_controller.ingest.runtime import build_ingest
    from station_controller.main import create_app
    from station_controller.migrations import upgrade_head

    tmp, host = Path(plan["tmp"]), plan["host"]
    settings = make_settings(tmp, host)
    broker = start_broker(settings)
    upgrade_head(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    payloads = build_payloads(settings)
    ingest = build_ingest(settings, sessions, handlers=build_event_handlers(sessions, payloads))
    app = create_app(settings, ingest=ingest, engine=engine, payloads=payloads)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=settings.http_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    procs: list[Any] = []
    try:
        wait_for(
            "the controller",
            lambda: httpx.get(f"{settings.public_url}/readyz", timeout=2).status_code == 200,
            60,
        )
        pub, manifests = publish(sessions, settings, tmp)
        procs = start_devices(sessions, settings, plan, pub)
        n = len(plan["stations"])
        wait_for(f"{n} agents on {N}", lambda: on_version(sessions, N) >= n, 240)
        result = rollout(sessions, app, plan, manifests)
        print("RESULT " + json.dumps(result), flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except Exception:  # noqa: BLE001 - a launcher that will not stop is killed
                proc.kill()
        server.should_exit = True
        thread.join(30)
        broker.stop()


def build(tmp: Path) -> None:
    """Releases N and N+1 built with stationctl and signed offline with a new firmware key."""
    from tests.agent.update import rig

    key = tmp / "fw.key"
    key_id, pub = rig.keygen(key)
    (tmp / "fw.pub").write_text(f"{key_id} {pub}")
    for version, name in ((N, "release-n"), (N1, "release-n1")):
        release = rig.build_release(tmp, version)
        rig.sign(release, key)
        (tmp / name).symlink_to(release)


def publish(sessions: Any, settings: Any, tmp: Path) -> tuple[tuple[str, str], dict[str, dict[str, Any]]]:
    """Pin the key and upload N+1 (document, then files); (key, manifests)."""
    from station_controller.firmware import keys, service

    key_id, pub_b64 = (tmp / "fw.pub").read_text().split()
    pub = (key_id, pub_b64)
    releases = {N: tmp / "release-n", N1: tmp / "release-n1"}
    manifests = {v: json.loads((r / "manifest.json").read_text()) for v, r in releases.items()}
    with sessions() as session:
        keys.add_key(session, public_key=pub[1], label="bench")
        doc = (releases[N1] / "manifest.signed.json").read_bytes()
        found, _ = service.upload_release(session, settings=settings, document=doc, by="bench")
        for entry in manifests[N1]["files"]:
            data = (releases[N1] / "files" / entry["path"]).read_bytes()
            service.put_file(
                session, settings=settings, release_id=found.release_id, path=entry["path"], pieces=[data]
            )
    return pub, manifests


def start_devices(sessions: Any, settings: Any, plan: dict[str, Any], pub: tuple[str, str]) -> list[Any]:
    import subprocess

    from station_controller.registry.service import add_device, create_station
    from tests.agent.update import rig

    tmp = Path(plan["tmp"])
    procs = []
    for i, station in enumerate(plan["stations"]):
        with sessions() as session:
            st = create_station(session, code=f"F{i:02d}", name=f"fw {i}", region_path=REGION)
            _device, token = add_device(
                session, settings=settings, station=st, role="stb", serial=f"FW{i:02d}", mac=None
            )
            session.commit()
        home = tmp / "devices" / str(i)
        root = home / "root"
        wheels = tmp / "release-n" / "files" / "wheels"
        init = [rig.BASE_PYTHON, str(rig.LAUNCHER), "--root", str(root), "init", "--wheels", str(wheels)]
        subprocess.run([*init, "--version", N], check=True, timeout=300)
        keydir = root / "keys" / "firmware"
        keydir.mkdir(parents=True, exist_ok=True)
        (keydir / f"{pub[0]}.pub").write_text(pub[1] + "\n")
        update = {
            "python": rig.BASE_PYTHON,
            "check_interval_s": 0.5,
            "progress_interval_s": 1.0,
            "retries": 5,
        }
        (root / "update.json").write_text(json.dumps(update))
        config = home / "agent.toml"
        config.write_text("\n".join([
            f'state_dir = "{home / "state"}"', "[device]", 'role = "stb"', f'serial = "FW{i:02d}"',
            "[enrollment]", f'controller_url = "{settings.public_url}"', f'token = "{token}"',
            "[mqtt]", f'host = "{settings.mqtt_host}"', f"port = {settings.mqtt_port}", "tls = false",
            "[telemetry]", "interval_s = 5.0", "[commands]", "reboot_dry_run = true", "",
        ]))  # fmt: skip
        argv = [rig.BASE_PYTHON, str(root / "launcher.py"), "--root", str(root), "run", "--python",
                rig.BASE_PYTHON, "--restart-delay-s", "0.5", "--", "--config", str(config)]  # fmt: skip
        procs.append(popen_in(station["ns"], argv, log_file=home / "launcher.log"))
    return procs


def on_version(sessions: Any, version: str) -> int:
    from sqlalchemy import func, select

    from station_controller.registry.models import Device

    with sessions() as session:
        stmt = (
            select(func.count())
            .select_from(Device)
            .where(Device.agent_version == version, Device.online.is_(True))
        )
        return int(session.scalar(stmt) or 0)


def file_delta(manifests: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """(full N+1 bytes, bytes of N+1 files whose path+sha256 N does not have)."""
    have = {(f["path"], f["sha256"]) for f in manifests[N]["files"]}
    files = manifests[N1]["files"]
    return sum(f["size"] for f in files), sum(
        f["size"] for f in files if (f["path"], f["sha256"]) not in have
    )


def rollout(
    sessions: Any, app: Any, plan: dict[str, Any], manifests: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    from rollout_live_inner import wait_for

    from station_controller.campaigns import service as campaigns
    from station_controller.campaigns.models import CampaignDevice
    from station_controller.campaigns.schemas import CampaignCreate
    from station_controller.content.store import origin_limiter
    from station_controller.firmware.devices import campaign_device_progress

    n = len(plan["stations"])
    spec = CampaignCreate.model_validate({
        "name": "fw-bench", "payload_kind": "firmware", "payload": {"release_id": f"agent-{N1}"},
        "target": {"regions": [REGION]}, "schedule": {"window_start": None, "window_end": None},
        "waves": {"canary": ["F00"], "percentages": [100]}, "thresholds": {"min_sample": 1, "error_pct": 0},
        "max_active": n,
    })  # fmt: skip
    payloads = app.state.campaign_payloads
    served0 = origin_limiter().stats()["bytes_served"]
    t0 = time.monotonic()
    with sessions() as session:
        cid = campaigns.create_campaign(session, payloads=payloads, spec=spec, created_by="bench").id
        campaigns.start_campaign(session, payloads=payloads, campaign_id=cid)
    done_at: dict[str, float] = {}

    def all_committed() -> bool:
        with sessions() as session:
            _counts, rows = campaign_device_progress(session, campaign_id=cid)
            failed = [r for r in rows if r.state in ("rolled_back", "refused", "failed")]
            if failed:
                raise SystemExit(f"devices failed: {[(r.device_id, r.state, r.reason) for r in failed]}")
            for r in rows:
                if r.state == "committed" and r.station not in done_at:
                    done_at[r.station] = time.monotonic() - t0
        return len(done_at) == n

    wait_for(f"{n} devices committed", all_committed, plan["timeout"] - 120)
    served = origin_limiter().stats()["bytes_served"] - served0
    with sessions() as session:
        rows = session.query(CampaignDevice).filter(CampaignDevice.campaign_id == cid).all()
        succeeded = sum(1 for r in rows if r.state == "succeeded")
    full, delta = file_delta(manifests)
    wave = [t for code, t in done_at.items() if code != "F00"]
    return {
        "agents": n,
        "link_mbit": [s["rate_mbit"] for s in plan["stations"]],
        "release_bytes": full,
        "file_delta_bytes": delta,
        "file_delta_ratio": round(delta / full, 3),
        "origin_bytes_served": served,
        "served_per_device": round(served / n),
        "canary_committed_s": round(done_at["F00"], 1),
        "all_committed_s": round(max(done_at.values()), 1),
        "wave_median_s": round(sorted(wave)[len(wave) // 2], 1) if wave else None,
        "campaign_succeeded": succeeded,
        "devices": {code: round(t, 1) for code, t in sorted(done_at.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=1500.0)
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(json.loads(args.inner))
    else:
        outer(args)


if __name__ == "__main__":
    main()
