"""Format 2 (snapshot, index objects, delta packs) over real HTTP across the shaped namespace link."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from station_controller.content.offline import publish_dir
from station_protocol.content import Manifest, parse_delta, parse_snapshot, split_document
from stationctl.chunker import MAX_SIZE
from tests.integration.content.conftest import Rig, tree_bytes, write_corpus
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


def _publish(rig: Rig, src: Path, version: str, seq: int, bases: list[Manifest]) -> Manifest:
    return publish_dir(
        src, store=rig.store, key_dir=rig.key_dir, key_id=rig.key_id, bundle="lessons", version=version,
        seq=seq, delta_from=bases,
    )  # fmt: skip


def _args(rig: Rig, version: str, **extra: Any) -> dict[str, Any]:
    return rig.args(version, snapshot_url=f"{rig.base_url}/bundles/lessons/{version}.snap", **extra)


def _delta(rig: Rig, version: str, base: str) -> Any:
    import zstandard

    body, _ = split_document(rig.store.snapshot_path("lessons", version).read_bytes(), "snapshot")
    ref = parse_snapshot(body).deltas[base].obj
    stored = rig.store.object_path(ref.sha256).read_bytes()
    raw = stored if ref.stored_size == ref.size else zstandard.ZstdDecompressor().decompress(stored)
    return parse_delta(raw)


def _sync(rig: Rig, args: dict[str, Any], name: str) -> dict[str, Any]:
    return rig.finish(rig.start_sync(args, name), name)


def _edit(path: Path, at: int, insert: bytes) -> None:
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data[:at] + insert + data[at:])


def _requests(rig: Rig) -> list[str]:
    with rig.server.lock:
        out = [p for p, _r in rig.server.requests]
        rig.server.requests.clear()
    return out


def test_small_edit_fetches_one_snapshot_one_delta_and_one_pack_run_and_no_change_only_the_snapshot(
    rig: Rig, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=3, files=3, size=700_000)
    v1 = _publish(rig, src, "v1", 1, [])
    done = _sync(rig, _args(rig, "v1"), "v1")
    assert done["name"] == "content.done", done
    assert rig.current_files() == tree_bytes(src)
    first = _requests(rig)
    assert any(p.startswith("/objects/") for p in first)
    assert any(p.startswith("/chunks/") for p in first)

    _edit(src / "f001.bin", 300_000, b"a new sentence in the middle of a lesson")
    v2 = _publish(rig, src, "v2", 2, [v1])
    done = _sync(rig, _args(rig, "v2"), "v2")
    assert done["name"] == "content.done", done
    assert rig.current_files() == tree_bytes(src)
    paths = _requests(rig)
    assert paths[0] == "/bundles/lessons/v2.snap"
    assert [p.split("/")[1] for p in paths[1:]] == ["objects", "packs"], paths
    assert done["detail"]["bytes_wire"] < 6_000, done  # a 64 KiB chunk would be 10x that

    _publish(rig, src, "v3", 3, [v1, v2])
    done = _sync(rig, _args(rig, "v3"), "v3")
    assert done["name"] == "content.done", done
    assert _requests(rig) == ["/bundles/lessons/v3.snap"]
    assert rig.current_files() == tree_bytes(src)


def test_flipped_byte_in_a_pack_item_and_in_an_index_object_is_rejected_and_refetched(
    rig: Rig, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=4, files=2, size=500_000)
    v1 = _publish(rig, src, "v1", 1, [])
    body, _ = split_document(rig.store.snapshot_path("lessons", "v1").read_bytes(), "snapshot")
    root = parse_snapshot(body).root.sha256
    rig.server.corrupt[f"/objects/{root[:4]}/{root}"] = 1
    done = _sync(rig, _args(rig, "v1"), "v1")
    assert done["name"] == "content.done", done
    assert done["detail"]["refetched_bytes"] == parse_snapshot(body).root.stored_size

    for i in range(2):
        _edit(src / f"f{i:03d}.bin", 100_000 + i, os.urandom(3000))
    _publish(rig, src, "v2", 2, [v1])
    delta = _delta(rig, "v2", "v1")
    pack = delta.pack.sha256
    middle = delta.pack.size // 2  # the server flips the middle byte of the (one-run) response
    victim = next(i for i in delta.items if i.offset <= middle < i.offset + i.length)
    rig.server.corrupt[f"/packs/{pack[:4]}/{pack}"] = 1
    done = _sync(rig, _args(rig, "v2"), "v2")
    assert done["name"] == "content.done", done
    assert done["detail"]["refetched_bytes"] == victim.length
    assert rig.current_files() == tree_bytes(src)


def test_tampered_and_expired_snapshots_are_refused(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=5, files=1, size=100_000)
    _publish(rig, src, "v1", 1, [])
    path = rig.store.snapshot_path("lessons", "v1")
    good = path.read_bytes()
    doc = json.loads(good)
    doc["snapshot"]["seq"] = 99
    path.write_bytes(json.dumps(doc).encode())
    done = _sync(rig, _args(rig, "v1"), "tampered")
    assert (done["name"], done["detail"]["reason"]) == ("content.failed", "bad_signature")

    from station_controller.content import signing
    from station_protocol.content import canonical_bytes, signed_document

    doc = json.loads(good)
    doc["snapshot"]["expires_ms"] = int(time.time() * 1000) - 1
    key = signing.load_private(rig.key_dir, rig.key_id)
    sig = signing.sign(key, rig.key_id, canonical_bytes(doc["snapshot"]))
    path.write_bytes(signed_document(doc["snapshot"], [sig], "snapshot"))
    done = _sync(rig, _args(rig, "v1", job_id="expired"), "expired")
    assert (done["name"], done["detail"]["reason"]) == ("content.failed", "manifest_invalid")
    assert "expired" in done["detail"]["detail"]


def test_kill9_during_a_pack_download_resumes_the_run(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_corpus(src, seed=6, files=1, size=300_000)
    v1 = _publish(rig, src, "v1", 1, [])
    assert _sync(rig, _args(rig, "v1"), "v1")["name"] == "content.done"
    with (src / "f000.bin").open("ab") as fh:
        fh.write(os.urandom(2_500_000))  # about 5 s at 4 Mbit/s
    _publish(rig, src, "v2", 2, [v1])
    needed = _delta(rig, "v2", "v1").pack.size
    args = _args(rig, "v2")
    proc = rig.start_sync(args, "a")
    wait_until(lambda: rig.server.total("/packs/") > needed * 0.4, timeout=120, message="40 % of the pack")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done = _sync(rig, args, "b")
    assert done["name"] == "content.done", done
    assert rig.current_files() == tree_bytes(src)
    overhead = rig.server.total("/packs/") - needed
    assert 0 <= overhead <= MAX_SIZE, f"refetched {overhead} pack bytes after kill -9"
    assert any(r for p, r in rig.server.requests if p.startswith("/packs/") and r and not r.endswith("-"))
