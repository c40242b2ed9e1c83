"""Content API: publish through upload of missing chunks, signed manifests, Range serving, diff, GC, keys."""

from __future__ import annotations

import base64
import json
import os
import random
from pathlib import Path
from typing import Any

from station_controller.content import devices, gc
from station_controller.content.signing import verify
from station_controller.content.store import origin_limiter
from station_protocol.content import Signature, canonical_bytes
from stationctl.chunker import DEFAULT_CHUNKING, Chunk, chunk_tree
from tests.controller.api.core_fixtures import PASSWORD, Api


def _publish(api: Api, headers: dict[str, str], src: Path, bundle: str, version: str) -> dict[str, Any]:
    chunks: dict[str, Chunk] = {}
    files = chunk_tree(src, sink=lambda c: chunks.__setitem__(c.ref.sha256, c))
    missing = api.client.post(
        "/api/v1/content/chunks/missing", json={"hashes": list(chunks)}, headers=headers
    )
    assert missing.status_code == 200, missing.text
    for digest in missing.json()["missing"]:
        c = chunks[digest]
        put = api.client.put(
            f"/api/v1/content/chunks/{digest}",
            content=c.stored,
            headers={**headers, "X-Chunk-Size": str(c.ref.size)},
        )
        assert put.status_code == 200, put.text
    ch = DEFAULT_CHUNKING
    body = {
        "version": version,
        "chunking": {"algo": "fastcdc", "min": ch.min, "avg": ch.avg, "max": ch.max},
        "files": [
            {"path": f.path, "size": f.size, "mode": f.mode, "sha256": f.sha256,
             "chunks": [[c.sha256, c.size, c.stored_size] for c in f.chunks]}
            for f in files
        ],
    }  # fmt: skip
    reply = api.client.post(f"/api/v1/content/bundles/{bundle}/versions", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _corpus(root: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    (root / "video").mkdir(parents=True)
    (root / "video" / "a.mp4").write_bytes(rng.randbytes(700_000))
    (root / "index.html").write_text("<h1>课程</h1>" * 4000, encoding="utf-8")


def test_publish_sign_serve_and_diff(api: Api, tmp_path: Path) -> None:
    op = api.user("operator")
    src = tmp_path / "src"
    _corpus(src)
    v1 = _publish(api, op, src, "math", "v1")
    assert (v1["seq"], v1["file_count"], v1["new_bytes"]) == (1, 2, v1["stored_bytes"])
    assert v1["stored_bytes"] < v1["total_bytes"]  # the HTML chunks are stored compressed

    doc = api.client.get("/content/bundles/math/v1.json")
    assert doc.status_code == 200
    signed = json.loads(doc.content)
    keys = api.client.get("/api/v1/content/keys", headers=op).json()
    public = base64.b64decode(keys[0]["public_key"])
    sig = Signature(**signed["signatures"][0])
    assert verify(public, sig, canonical_bytes(signed["manifest"]))
    signed["manifest"]["files"][0]["size"] += 1
    assert not verify(public, sig, canonical_bytes(signed["manifest"]))

    big = max((c for f in signed["manifest"]["files"] for c in f["chunks"]), key=lambda c: c[2])
    url = f"/content/chunks/{big[0][:4]}/{big[0]}"
    whole = api.client.get(url)
    part = api.client.get(url, headers={"Range": "bytes=100-"})
    assert (whole.status_code, part.status_code) == (200, 206)
    assert part.content == whole.content[100:]
    assert part.headers["content-range"] == f"bytes 100-{big[2] - 1}/{big[2]}"
    assert api.client.get(url, headers={"Range": f"bytes={big[2]}-"}).status_code == 416
    assert api.client.get(f"/content/chunks/{big[0][:4]}/{'0' * 64}").status_code == 404

    with (src / "index.html").open("a", encoding="utf-8") as fh:
        fh.write("<p>new</p>")
    os.rename(src / "video" / "a.mp4", src / "video" / "b.mp4")
    v2 = _publish(api, op, src, "math", "v2")
    assert 0 < v2["new_bytes"] < 20_000, v2
    diff = api.client.get("/api/v1/content/bundles/math/versions/v2/diff", headers=op).json()
    assert diff["changed"] == ["index.html"]
    assert diff["renamed"] == [{"from": "video/a.mp4", "to": "video/b.mp4"}]
    assert diff["new_bytes"] == v2["new_bytes"]
    dup = api.client.post(
        "/api/v1/content/bundles/math/versions",
        json={"version": "v2", "chunking": {"min": 1, "avg": 2, "max": 3}, "files": []},
        headers=op,
    )
    assert dup.status_code == 409


def test_publish_refuses_unknown_chunks_and_bad_uploads(api: Api, tmp_path: Path) -> None:
    op = api.user("operator")
    digest = "ab" * 32
    bad = api.client.put(
        f"/api/v1/content/chunks/{digest}", content=b"xyz", headers={**op, "X-Chunk-Size": "3"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "bad_chunk"
    body = {
        "version": "v1",
        "chunking": {"min": 16384, "avg": 65536, "max": 262144},
        "files": [{"path": "a", "size": 3, "mode": 420, "sha256": digest, "chunks": [[digest, 3, 3]]}],
    }
    reply = api.client.post("/api/v1/content/bundles/x/versions", json=body, headers=op)
    assert reply.status_code == 404
    assert reply.json()["error"] == "chunk_missing"
    assert (
        api.client.post(
            "/api/v1/content/chunks/missing", json={"hashes": [digest]}, headers=api.user("viewer")
        ).status_code
        == 403
    )


def test_retention_gc_and_device_delta(api: Api, tmp_path: Path) -> None:
    op = api.user("operator")
    api.settings.content_keep_versions = 2
    versions = []
    for i in range(3):
        src = tmp_path / f"s{i}"
        src.mkdir()
        (src / "f.bin").write_bytes(random.Random(i).randbytes(300_000))
        versions.append(_publish(api, op, src, "news", f"v{i}"))
    listed = {
        v["version"]: v["retired"]
        for v in api.client.get("/api/v1/content/bundles/news/versions", headers=op).json()
    }
    assert listed == {"v0": True, "v1": False, "v2": False}
    assert api.client.get("/content/bundles/news/v0.json").status_code == 404
    assert api.client.get("/content/bundles/news/v1.json.gz").content[:2] == b"\x1f\x8b"
    with api.sessions() as session:
        result = gc.collect(session, settings=api.settings, grace_s=0)
    assert result["chunks_deleted"] > 0
    assert result["bytes_freed"] >= versions[0]["stored_bytes"] - 1
    with api.sessions() as session:
        devices.record_sync_event(
            session, device_id="stb-1", name="content.done",
            detail={"job_id": "j", "bundle": "news", "version": "v1", "activated": True, "bytes_wire": 5},
        )  # fmt: skip
        assert (
            devices.delta_for_device(session, device_id="stb-1", bundle="news", version="v1").wire_bytes == 0
        )
        delta = devices.delta_for_device(session, device_id="stb-1", bundle="news", version="v2")
        assert delta.wire_bytes == versions[2]["new_bytes"]
        args = devices.sync_command_args(
            session, settings=api.settings, bundle="news", version="v2", device_id="stb-1", rate_kbit=2000,
            window={"start": "00:30", "end": "05:30", "utc_offset_min": 480},
        )  # fmt: skip
        # format 1 args (no snapshot_url): the budget counts format 1's missing chunks, not the patch
        chunks = devices.delta_for_device(
            session, device_id="stb-1", bundle="news", version="v2", content_format=devices.FORMAT_1
        )
    assert args["manifest_url"].endswith("/content/bundles/news/v2.json.gz")
    assert "snapshot_url" not in args
    assert args["budget_bytes"] == int(chunks.wire_bytes * 1.10) + 1024 * 1024


def test_origin_limiter_counts_served_bytes(api: Api, tmp_path: Path) -> None:
    op = api.user("operator")
    src = tmp_path / "src"
    _corpus(src, seed=9)
    _publish(api, op, src, "lim", "v1")
    doc = json.loads(api.client.get("/content/bundles/lim/v1.json").content)
    first = doc["manifest"]["files"][1]["chunks"][0]
    before = origin_limiter().stats()["bytes_served"]
    api.client.get(f"/content/chunks/{first[0][:4]}/{first[0]}")
    assert origin_limiter().stats()["bytes_served"] - before == first[2]


def test_console_lists_bundles_with_new_bytes_per_version(api: Api, tmp_path: Path) -> None:
    headers = api.user("operator")
    src = tmp_path / "lesson"
    src.mkdir()
    (src / "a.html").write_bytes(b"<h1>lesson</h1>" * 5000)
    _publish(api, headers, src, "lessons", "v1")
    (src / "b.html").write_bytes(b"<h2>new page</h2>" * 3000)
    _publish(api, headers, src, "lessons", "v2")
    me = api.client.get("/api/v1/auth/me", headers=headers).json()["username"]
    login = api.client.post("/api/v1/auth/login", json={"username": me, "password": PASSWORD})
    assert login.status_code == 200  # sets the console's session cookie on this client
    page = api.client.get("/console/content/")
    assert page.status_code == 200, page.text[:300]
    assert 'data-testid="bundle-lessons"' in page.text
    assert 'data-testid="version-lessons-v1"' in page.text
    assert 'data-testid="version-lessons-v2"' in page.text
    assert "课件内容包" in page.text
    unknown = api.client.get("/console/content/nope")
    assert unknown.status_code == 404
