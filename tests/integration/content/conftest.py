"""A shaped link between a "centre" namespace (static Range server) and a "station" namespace (sync CLI)."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from station_controller.content import signing
from station_controller.content.offline import publish_dir
from station_controller.content.store import ChunkStore
from tests.integration.content.rangeserver import RangeServer
from tests.support.netns import NetnsLab, entered, popen_in, run_in
from tests.support.wait import wait_until

# This kernel has no sch_netem, so the link is shaped from parts that exist: tbf for the rate (both
# directions), an nftables random drop for loss, and 80 ms of server-side latency per response.
SHAPE = ["tbf", "rate", "4mbit", "burst", "16kb", "latency", "200ms"]
LOSS_RULES = """table inet shape {
 chain out {
  type filter hook output priority 0;
  numgen random mod 1000 < 5 drop
 }
 chain in {
  type filter hook input priority 0;
  numgen random mod 1000 < 5 drop
 }
}
"""
LATENCY_S = 0.08


@dataclass
class Rig:
    tmp: Path
    lab: NetnsLab
    centre: str
    station: str
    server: RangeServer
    store: ChunkStore
    key_dir: Path
    key_id: str
    device_root: Path
    base_url: str
    procs: list[Any] = field(default_factory=list)

    def publish(self, src: Path, version: str, seq: int, bundle: str = "lessons") -> Any:
        return publish_dir(
            src,
            store=self.store,
            key_dir=self.key_dir,
            key_id=self.key_id,
            bundle=bundle,
            version=version,
            seq=seq,
        )

    def args(self, version: str, bundle: str = "lessons", **extra: Any) -> dict[str, Any]:
        out = {
            "job_id": f"job-{version}-{secrets.token_hex(3)}",
            "bundle": bundle,
            "version": version,
            "manifest_url": f"{self.base_url}/bundles/{bundle}/{version}.json.gz",
            "budget_bytes": 64 * 1024 * 1024,
        }
        out.update(extra)
        return out

    def start_sync(self, args: dict[str, Any], name: str = "sync", **opts: Any) -> Any:
        argv = [
            sys.executable, "-m", "station_agent.content",
            "--root", str(self.device_root), "--state-db", str(self.tmp / "state.db"),
            "--args", json.dumps(args),
            "--stall-timeout", str(opts.get("stall", 3)), "--retries", str(opts.get("retries", 20)),
            "--backoff", "0.3", "--progress-interval", "0.5",
        ]  # fmt: skip
        proc = popen_in(self.station, argv, log_file=self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc

    def events(self, name: str = "sync") -> list[dict[str, Any]]:
        path = self.tmp / f"{name}.log"
        out = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []:
            if line.startswith('{"name"'):
                out.append(json.loads(line))
        return out

    def finish(self, proc: Any, name: str = "sync", timeout: float = 180.0) -> dict[str, Any]:
        wait_until(
            lambda: proc.poll() is not None, timeout=timeout, interval=0.2, message=f"{name} to finish"
        )
        last = [e for e in self.events(name) if e["name"] in ("content.done", "content.failed")]
        assert last, (self.tmp / f"{name}.log").read_text()
        return last[-1]

    def shape(self, *qdisc: str) -> None:
        for ns, dev in ((self.centre, "c0"), (self.station, "s0")):
            run_in(ns, ["tc", "qdisc", "replace", "dev", dev, "root", *qdisc])

    def current_files(self, bundle: str = "lessons") -> dict[str, bytes]:
        base = (self.device_root / "bundles" / bundle / "current").resolve()
        return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def write_corpus(root: Path, *, seed: int, files: int, size: int, marker: str = "") -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        body = rng.randbytes(size)
        (root / f"f{i:03d}.bin").write_bytes(marker.encode() + body)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    octet = random.randint(1, 250)
    with NetnsLab() as lab:
        centre, station = lab.add("centre"), lab.add("station")
        lab.veth(centre, "c0", station, "s0")
        lab.address(centre, "c0", f"10.77.{octet}.1/30")
        lab.address(station, "s0", f"10.77.{octet}.2/30")
        key_dir = tmp_path / "keys"
        key_id, _ = signing.create_key(key_dir)
        device_root = tmp_path / "device"
        (device_root / "trusted-keys").mkdir(parents=True)
        shutil.copy(key_dir / f"{key_id}.pub", device_root / "trusted-keys")
        store = ChunkStore(tmp_path / "store")
        with entered(centre):
            server = RangeServer((f"10.77.{octet}.1", 0), store.root)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        r = Rig(tmp_path, lab, centre, station, server, store, key_dir, key_id, device_root,
                f"http://10.77.{octet}.1:{server.server_address[1]}")  # fmt: skip
        r.shape(*SHAPE)
        run_in(station, ["nft", "-f", "-"], input_text=LOSS_RULES)
        server.delay_s = LATENCY_S
        try:
            yield r
        finally:
            for proc in r.procs:
                if proc.poll() is None:
                    os.kill(proc.pid, 9)
                    proc.wait(timeout=10)
            server.shutdown()
            server.server_close()
