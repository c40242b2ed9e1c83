"""Format 2 via the controller: snapshot and objects served, exact delta bytes in args and estimates, GC."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from station_controller.campaigns.payloads import StartSpec
from station_controller.content import devices, gc, service
from station_controller.content.campaign_payload import ContentSync
from station_controller.registry.models import Device
from station_controller.registry.service import create_station
from station_protocol.content import FORMAT_V2_CAPABILITY, parse_snapshot, split_document
from tests.controller.api.core_fixtures import Api
from tests.controller.content.test_content_api import _publish


def _edit(path: Path, at: int, insert: bytes) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:at] + insert + data[at:])


def _publish_v1_and_an_edited_v2(api: Api, tmp_path: Path, seed: int) -> dict[str, Any]:
    """Bundle ``math``: v1 a 600 kB lesson, v2 the same with one sentence inserted; v2's publish reply."""
    op = api.user("operator")
    src = tmp_path / "src"
    src.mkdir()
    (src / "lesson.bin").write_bytes(random.Random(seed).randbytes(600_000))
    _publish(api, op, src, "math", "v1")
    _edit(src / "lesson.bin", 250_000, b"a changed sentence")
    reply: dict[str, Any] = _publish(api, op, src, "math", "v2")
    return reply


def test_snapshot_delta_bytes_and_format2_args(api: Api, tmp_path: Path) -> None:
    v2 = _publish_v1_and_an_edited_v2(api, tmp_path, seed=3)
    snap_doc = api.client.get("/content/bundles/math/v2.snap")
    assert snap_doc.status_code == 200
    assert len(snap_doc.content) < 1000  # "did anything change?" costs about one small request
    body, _ = split_document(snap_doc.content, "snapshot")
    snap = parse_snapshot(body)
    assert set(snap.deltas) == {"v1"}
    root = api.client.get(f"/content/objects/{snap.root.sha256[:4]}/{snap.root.sha256}")
    assert (root.status_code, len(root.content)) == (200, snap.root.stored_size)
    delta_obj = snap.deltas["v1"].obj
    assert api.client.get(f"/content/objects/{delta_obj.sha256[:4]}/{delta_obj.sha256}").status_code == 200
    exact = len(snap_doc.content) + snap.deltas["v1"].wire_bytes
    assert v2["new_bytes"] == exact < 5_000  # a patch, not the 64 KiB chunks around the edit
    with api.sessions() as session:
        devices.record_sync_event(
            session, device_id="stb-9", name="content.done",
            detail={"job_id": "j", "bundle": "math", "version": "v1", "activated": True, "bytes_wire": 1},
        )  # fmt: skip
        assert (
            devices.delta_for_device(session, device_id="stb-9", bundle="math", version="v2").wire_bytes
            == exact
        )
        args = devices.sync_command_args(
            session, settings=api.settings, bundle="math", version="v2", device_id="stb-9", content_format=2
        )
        old = devices.sync_command_args(session, settings=api.settings, bundle="math", version="v2")
    assert args["snapshot_url"] == service.snapshot_url(api.settings, "math", "v2")
    assert args["manifest_url"].endswith("/content/bundles/math/v2.json.gz")
    assert args["budget_bytes"] == int(exact * devices.BUDGET_FACTOR) + service.MIB
    assert "snapshot_url" not in old


def test_gc_drops_format2_objects_of_retired_versions(api: Api, tmp_path: Path) -> None:
    op = api.user("operator")
    api.settings.content_keep_versions = 1
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.bin").write_bytes(random.Random(4).randbytes(200_000))
    _publish(api, op, src, "news", "v1")
    store = service.chunk_store(api.settings)
    body, _ = split_document(store.snapshot_path("news", "v1").read_bytes(), "snapshot")
    old_root = parse_snapshot(body).root.sha256
    (src / "f.bin").write_bytes(random.Random(5).randbytes(200_000))
    _publish(api, op, src, "news", "v2")
    assert not store.snapshot_path("news", "v1").exists()
    assert store.object_path(old_root).exists()
    with api.sessions() as session:
        gc.collect(session, settings=api.settings, grace_s=0)
    assert not store.object_path(old_root).exists()
    body, _ = split_document(store.snapshot_path("news", "v2").read_bytes(), "snapshot")
    assert store.object_path(parse_snapshot(body).root.sha256).exists()


def _stb(api: Api, device_id: str, capabilities: list[str]) -> None:
    with api.sessions() as session:
        station = create_station(session, code=device_id.upper(), name=device_id, region_path="prov")
        session.add(
            Device(id=device_id, station_id=station.id, role="stb", serial=f"SN-{device_id}",
                   region_path=station.region.path, status="enrolled", capabilities=capabilities)
        )  # fmt: skip
        session.commit()


def test_a_campaign_sends_format_2_only_to_agents_whose_birth_advertised_it(api: Api, tmp_path: Path) -> None:
    _publish_v1_and_an_edited_v2(api, tmp_path, seed=5)
    _stb(api, "stb-new", ["content.sync", FORMAT_V2_CAPABILITY, "ping"])
    _stb(api, "stb-old", ["content.sync", "ping"])  # an agent from before format 2
    sent: dict[str, dict[str, Any]] = {}

    def send(**command: Any) -> None:
        sent[command["device_id"]] = command["args"]

    spec = StartSpec(
        job_id="j1", window=None, utc_offset_min=480, payload={"bundle": "math", "version": "v2"},
        rate_bps=None, not_after=None,
    )  # fmt: skip
    with api.sessions() as session:
        for device_id in ("stb-new", "stb-old"):
            devices.record_sync_event(
                session, device_id=device_id, name="content.done",
                detail={"job_id": "j0", "bundle": "math", "version": "v1", "activated": True,
                        "bytes_wire": 1},
            )  # fmt: skip
        session.commit()
        ContentSync(api.settings).start(session, device_id="stb-new", spec=spec, send=send)
        ContentSync(api.settings).start(session, device_id="stb-old", spec=spec, send=send)
        format_2 = service.delta_bytes(session, bundle="math", version="v2", have_version="v1")
        format_1 = service.delta_bytes(
            session, bundle="math", version="v2", have_version="v1", content_format=1
        )
    assert sent["stb-new"]["snapshot_url"] == service.snapshot_url(api.settings, "math", "v2")
    assert "snapshot_url" not in sent["stb-old"]
    # each budget is what that device's format really costs: the patch, or the changed chunks whole
    assert format_2.wire_bytes < format_1.wire_bytes
    assert sent["stb-new"]["budget_bytes"] == int(format_2.wire_bytes * devices.BUDGET_FACTOR) + service.MIB
    assert sent["stb-old"]["budget_bytes"] == int(format_1.wire_bytes * devices.BUDGET_FACTOR) + service.MIB
