"""Agent content sync over real HTTP across a tc-shaped namespace link (4 Mbit/s, 80 ms, 0.5 % loss)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from stationctl.chunker import MAX_SIZE
from tests.integration.content.conftest import SHAPE, Rig, tree_bytes, write_corpus
from tests.support.netns import run_in
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


def _chunk_bytes_needed(rig: Rig, bundle: str, version: str) -> int:
    doc = json.loads(rig.store.manifest_path(bundle, version).read_bytes())
    chunks = {c[0]: c[2] for f in doc["manifest"]["files"] for c in f["chunks"]}
    return sum(chunks.values())


def test_resume_after_link_cut_and_kill9_refetches_at_most_one_chunk_each(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=1, files=2, size=1_200_000)
    rig.publish(src, "v1", 1)
    needed = _chunk_bytes_needed(rig, "lessons", "v1")
    args = rig.args("v1")
    proc = rig.start_sync(args, "a")
    wait_until(lambda: rig.server.total("/chunks/") > needed * 0.3, timeout=120, message="30 % downloaded")
    run_in(rig.station, ["ip", "link", "set", "s0", "down"])  # cut the link mid-chunk
    time.sleep(4)  # longer than the stall timeout (3 s): the agent's attempt fails and is retried
    run_in(rig.station, ["ip", "link", "set", "s0", "up"])
    rig.shape(*SHAPE)
    wait_until(lambda: rig.server.total("/chunks/") > needed * 0.65, timeout=120, message="65 % downloaded")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc2 = rig.start_sync(args, "b")
    done = rig.finish(proc2, "b")
    assert done["name"] == "content.done", done
    assert rig.current_files() == tree_bytes(src)
    overhead = rig.server.total("/chunks/") - needed
    print(f"needed {needed} B, served {needed + overhead} B, refetched {overhead} B")  # noqa: T201
    assert 0 <= overhead <= 2 * MAX_SIZE, f"refetched {overhead} bytes over two interruptions"
    resumed = [r for p, r in rig.server.requests if p.startswith("/chunks/") and r]
    assert resumed, "no Range request: the partial chunk was not resumed"


def test_flipped_byte_in_one_chunk_is_rejected_and_refetched(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=2, files=1, size=600_000)
    manifest = rig.publish(src, "v1", 1)
    victim = manifest.files[0].chunks[2]
    rig.server.corrupt[f"/chunks/{victim.sha256[:4]}/{victim.sha256}"] = 1
    done = rig.finish(rig.start_sync(rig.args("v1")))
    assert done["name"] == "content.done", done
    assert done["detail"]["refetched_bytes"] == victim.stored_size
    assert rig.current_files() == tree_bytes(src)


def test_tampered_manifest_and_unknown_signer_are_refused(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=3, files=1, size=100_000)
    rig.publish(src, "v1", 1)
    path = rig.store.manifest_path("lessons", "v1")
    doc = json.loads(path.read_bytes())
    doc["manifest"]["files"][0]["mode"] = 0o4755  # a setuid bit slipped into the signed part
    rig.store.put_manifest("lessons", "v1", json.dumps(doc).encode())  # served .json and .json.gz
    failed = rig.finish(rig.start_sync(rig.args("v1"), "tampered"), "tampered")
    assert (failed["name"], failed["detail"]["reason"]) == ("content.failed", "bad_signature")

    for pub in (rig.device_root / "trusted-keys").iterdir():
        pub.unlink()  # the device now pins no key of this controller
    rig.publish(src, "v2", 2)
    failed = rig.finish(rig.start_sync(rig.args("v2"), "unknown"), "unknown")
    assert (failed["name"], failed["detail"]["reason"]) == ("content.failed", "unknown_signer")
    assert not (rig.device_root / "bundles" / "lessons" / "current").exists()
    assert rig.server.total("/chunks/") == 0


def test_window_end_pauses_and_next_window_resumes(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=4, files=1, size=1_500_000)
    rig.publish(src, "v1", 1)
    now = int(time.time() * 1000)
    closed_from, open_again = now + 4000, now + 12000
    args = rig.args("v1", windows_ms=[[now - 1000, closed_from], [open_again, now + 300_000]])
    stamps: list[float] = []
    stop = threading.Event()

    def watch() -> None:  # time of every chunk byte count change seen by the server
        last = 0
        while not stop.is_set():
            total = rig.server.total("/chunks/")
            if total != last:
                stamps.append(time.time() * 1000)
                last = total
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    done = rig.finish(rig.start_sync(args))
    stop.set()
    watcher.join()
    assert done["name"] == "content.done", done
    paused = [e for e in rig.events() if e["detail"].get("pause_reason") == "window"]
    assert paused, "no paused event at the window's end"
    # Slack of 1.5 s after the close for the block in flight on a shaped link.
    assert not [t for t in stamps if closed_from + 1500 < t < open_again - 200]
    assert [t for t in stamps if t >= open_again - 200], "nothing was fetched in the second window"
    assert rig.current_files() == tree_bytes(src)


def test_activation_is_atomic_for_a_polling_reader(rig: Rig, tmp_path: Path) -> None:
    for version, seed in (("v1", 5), ("v2", 6)):
        write_corpus(tmp_path / version, seed=seed, files=12, size=20_000, marker=f"{version}:")
    rig.publish(tmp_path / "v1", "v1", 1)
    assert rig.finish(rig.start_sync(rig.args("v1"), "one"), "one")["name"] == "content.done"
    rig.publish(tmp_path / "v2", "v2", 2)
    current = rig.device_root / "bundles" / "lessons" / "current"
    seen: list[set[str]] = []
    stop = threading.Event()

    def reader() -> None:  # a player: resolve current once, then read the whole set
        while not stop.is_set():
            base = current.resolve(strict=True)
            seen.append({p.read_bytes()[:3].decode() for p in base.iterdir()})

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    done = rig.finish(rig.start_sync(rig.args("v2"), "two"), "two")
    wait_until(lambda: {"v2:"} in seen, timeout=10, message="reader sees v2")
    stop.set()
    thread.join()
    assert done["name"] == "content.done"
    assert done["detail"]["previous"] == "v1"
    assert all(len(s) == 1 for s in seen), [s for s in seen if len(s) != 1][:3]
    assert (rig.device_root / "bundles" / "lessons" / "versions" / "v1").is_dir()  # previous kept


def test_per_device_rate_cap_holds_within_15_percent(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=7, files=1, size=1_600_000)
    rig.publish(src, "v1", 1)
    done = rig.finish(rig.start_sync(rig.args("v1", rate_kbit=1000)))
    assert done["name"] == "content.done", done
    progress = [
        e["detail"] for e in rig.events() if e["name"] == "content.progress" and e["detail"]["bytes_done"]
    ]
    first, last = progress[0], progress[-1]
    # The rate over the transfer, measured from the agent's own progress stamps is what the device reports;
    # here we recompute it from bytes and the job's duration (manifest and assembly included).
    rate = done["detail"]["bytes_wire"] * 8 / done["detail"]["duration_s"]
    print(f"rate cap 1000 kbit/s, measured {rate:.0f} bit/s")  # noqa: T201
    assert 850_000 <= rate <= 1_150_000, f"{rate:.0f} bit/s (first {first}, last {last})"
