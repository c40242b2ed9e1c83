"""End to end: the stack `make run` starts, its real demo STB agent, a content campaign to it over MQTT
and HTTP — it finishes with the bundle active; a second one is cancelled mid-download."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from stationctl.chunker import DEFAULT_CHUNKING, chunk_tree
from tests.e2e.conftest import DEMO_STATION_CODE, LiveStack, live_stack
from tests.support import wait_until

__all__ = ["live_stack"]
pytestmark = pytest.mark.e2e


def publish(api: httpx.Client, src: Path, version: str) -> None:
    chunks: dict[str, Any] = {}
    files = chunk_tree(src, sink=lambda c: chunks.setdefault(c.ref.sha256, c))
    missing = api.post("/api/v1/content/chunks/missing", json={"hashes": list(chunks)}).json()["missing"]
    for digest in missing:
        chunk = chunks[digest]
        headers = {"X-Chunk-Size": str(chunk.ref.size)}
        api.put(f"/api/v1/content/chunks/{digest}", content=chunk.stored, headers=headers).raise_for_status()
    chunking = {
        "algo": "fastcdc",
        "min": DEFAULT_CHUNKING.min,
        "avg": DEFAULT_CHUNKING.avg,
        "max": DEFAULT_CHUNKING.max,
    }
    entries = [
        {
            "path": f.path,
            "size": f.size,
            "mode": f.mode,
            "sha256": f.sha256,
            "chunks": [[c.sha256, c.size, c.stored_size] for c in f.chunks],
        }
        for f in files
    ]
    reply = api.post(
        "/api/v1/content/bundles/live/versions",
        json={"version": version, "chunking": chunking, "files": entries},
    )
    assert reply.status_code == 201, reply.text


def pin_signing_key(stack: LiveStack, api: httpx.Client) -> None:
    """Provisioning's job: put the controller's public key in the agent's trusted-keys (never over MQTT)."""
    trusted = stack.stack.data_dir / "demo" / "state" / "content" / "trusted-keys"
    trusted.mkdir(parents=True, exist_ok=True)
    for key in api.get("/api/v1/content/keys").json():
        (trusted / f"{key['key_id']}.pub").write_text(key["public_key"] + "\n", encoding="utf-8")


def campaign(api: httpx.Client, name: str, version: str, **extra: Any) -> int:
    body = {
        "name": name,
        "payload": {"bundle": "live", "version": version},
        "target": {"stations": [DEMO_STATION_CODE]},
        "schedule": {"window_start": None, "window_end": None},
        "waves": {"percentages": [100]},
        **extra,
    }
    created = api.post("/api/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    cid = int(created.json()["id"])
    assert api.post(f"/api/v1/campaigns/{cid}/start").status_code == 200
    return cid


def device_row(api: httpx.Client, cid: int) -> dict[str, Any]:
    items = api.get(f"/api/v1/campaigns/{cid}/devices").json()["items"]
    return dict(items[0]) if items else {}


def test_a_campaign_installs_a_bundle_on_the_real_agent_and_cancel_stops_the_next(
    live_stack: LiveStack, tmp_path: Path
) -> None:
    rng = random.Random(21)
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    (small / "lesson.html").write_text("<h1>课程</h1>" * 2000, encoding="utf-8")
    (big / "video.mp4").write_bytes(rng.randbytes(24_000_000))
    with live_stack.api() as api:
        publish(api, small, "v1")
        pin_signing_key(live_stack, api)
        first = campaign(api, f"live-{rng.randrange(10**6)}", "v1")
        wait_until(
            lambda: api.get(f"/api/v1/campaigns/{first}").json()["state"] == "finished",
            timeout=120,
            message="the first campaign to finish",
        )
        assert device_row(api, first)["state"] == "succeeded"
        current = live_stack.stack.data_dir / "demo" / "state" / "content" / "bundles" / "live" / "current"
        assert (current / "lesson.html").read_text(encoding="utf-8") == "<h1>课程</h1>" * 2000

        publish(api, big, "v2")
        second = campaign(api, f"live-{rng.randrange(10**6)}", "v2", device_rate_bps=1_000_000)
        wait_until(
            lambda: device_row(api, second).get("bytes_done", 0) > 0,
            timeout=120,
            message="the download to start and report progress",
        )
        assert api.post(f"/api/v1/campaigns/{second}/cancel").status_code == 200
        wait_until(
            lambda: device_row(api, second).get("state") == "cancelled", timeout=60, message="cancelled"
        )
        commands = api.get(f"/api/v1/devices/{live_stack.demo_device_id}/commands").json()["items"]
        cancel = [c for c in commands if c["name"] == "content.cancel"]
        assert cancel
        assert cancel[0]["args"]["job_id"] == device_row(api, second)["job_id"]
        wait_until(
            lambda: _answered(api, cancel[0]["id"]), timeout=60, message="the agent to confirm the cancel"
        )
        assert (current / "lesson.html").exists()  # v1 stays active
        assert not (current.parent / "versions" / "v2").exists()


def _answered(api: httpx.Client, command_id: str) -> bool:
    record = api.get(f"/api/v1/commands/{command_id}").json()
    return bool(record["status"] == "ok" and record["output"].get("state") == "cancelled")
