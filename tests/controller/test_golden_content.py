"""The controller builds the golden content.* args and accepts the golden content.* outputs and events.

Builder: the content campaign payload's start (ContentSync.start → content/devices.py sync_command_args,
what a campaign sends) and its cancel; consumers: command results (record_results, then the API's view)
and the payload's interpret (campaign outcomes and content_device_state). Goldens:
tests/fixtures/messages/commands|events/.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures.golden import command_golden, event_golden
from station_controller.campaigns.payloads import Outcome, StartSpec, cancel_id
from station_controller.content.campaign_payload import ContentSync
from station_controller.content.devices import device_state
from station_protocol import contract
from station_protocol import sync as wire
from stationctl.chunker import DEFAULT_CHUNKING, Chunk, chunk_tree
from tests.controller.api.core_fixtures import Api

from .test_golden_stream import api_round_trip

PUBLIC = "https://controller.example"
# Where the controller and the golden content.sync args disagree (reported, not changed here): the
# controller's manifest_url is {public}/content/bundles/<b>/<v>.json.gz (golden: .../<b>/<v>/manifest.json),
# it sends no chunk_base_url (golden: .../content/chunks/, which the agent would extend to chunks/chunks/),
# a campaign sends a daily ``window`` (never windows_ms) and snapshot_url (format 2), and the budget is the
# delta's bytes x 1.10 + 1 MiB.
NOT_COMPARED = {"manifest_url", "chunk_base_url", "windows_ms", "snapshot_url", "budget_bytes"}


def publish(api: Api, src: Path, bundle: str, version: str) -> None:
    headers = api.user("operator")
    chunks: dict[str, Chunk] = {}
    files = chunk_tree(src, sink=lambda c: chunks.__setitem__(c.ref.sha256, c))
    missing = api.client.post(
        "/api/v1/content/chunks/missing", json={"hashes": list(chunks)}, headers=headers
    )
    for digest in missing.json()["missing"]:
        put = api.client.put(f"/api/v1/content/chunks/{digest}", content=chunks[digest].stored,
                             headers={**headers, "X-Chunk-Size": str(chunks[digest].ref.size)})  # fmt: skip
        assert put.status_code == 200, put.text
    ch = DEFAULT_CHUNKING
    body = {
        "version": version,
        "chunking": {"algo": "fastcdc", "min": ch.min, "avg": ch.avg, "max": ch.max},
        "files": [{"path": f.path, "size": f.size, "mode": f.mode, "sha256": f.sha256,
                   "chunks": [[c.sha256, c.size, c.stored_size] for c in f.chunks]} for f in files],
    }  # fmt: skip
    reply = api.client.post(f"/api/v1/content/bundles/{bundle}/versions", json=body, headers=headers)
    assert reply.status_code == 201, reply.text


def full(args: dict[str, Any]) -> dict[str, Any]:
    """Every field of the typed args (defaults written), minus the ones not compared."""
    encoded = contract.encode(contract.decode_args(wire.SYNC, args))
    return {k: v for k, v in encoded.items() if k not in NOT_COMPARED}


def test_a_content_campaign_sends_the_golden_sync_and_cancel_args(api: Api, tmp_path: Path) -> None:
    golden = command_golden(wire.SYNC)["args"]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lesson.bin").write_bytes(random.Random(3).randbytes(100_000))
    publish(api, tmp_path / "src", golden["bundle"], golden["version"])
    action = ContentSync(api.settings.model_copy(update={"public_url": PUBLIC}))
    spec = StartSpec(job_id=golden["job_id"], window=None, utc_offset_min=480,
                     payload={"bundle": golden["bundle"], "version": golden["version"], "activate": True},
                     rate_bps=golden["rate_kbit"] * 1000,
                     not_after=datetime.fromtimestamp(golden["not_after_ms"] / 1000, UTC))  # fmt: skip
    sent: list[dict[str, Any]] = []

    def send(**command: Any) -> None:
        sent.append(command)

    with api.sessions() as session:
        action.start(session, device_id="stb-1", spec=spec, send=send)
        action.cancel(session, device_id="stb-1", job_id=golden["job_id"], send=send)
    sync, cancel = sent
    assert (sync["name"], sync["command_id"]) == (wire.SYNC, golden["job_id"])
    assert set(sync["args"]) <= set(golden)
    assert full(sync["args"]) == full(golden)
    assert (
        sync["args"]["manifest_url"]
        == f"{PUBLIC}/content/bundles/{golden['bundle']}/{golden['version']}.json.gz"
    )
    assert (cancel["name"], cancel["args"], cancel["command_id"]) == (
        wire.CANCEL,
        command_golden(wire.CANCEL)["args"],
        cancel_id(golden["job_id"]),
    )


@pytest.mark.parametrize("name", [wire.SYNC, wire.CANCEL, wire.STATUS])
def test_content_commands_store_the_golden_output(api: Api, name: str) -> None:
    api_round_trip(api, name)


def test_the_campaign_payload_reads_the_golden_events(api: Api) -> None:
    action = ContentSync(api.settings)
    progress, done, failed = (event_golden(n) for n in (wire.PROGRESS, wire.DONE, wire.FAILED))
    with api.sessions() as session:
        events = ((wire.PROGRESS, progress), (wire.FAILED, failed), (wire.DONE, done))
        read = [action.interpret(session, device_id="stb-1", name=n, detail=d) for n, d in events]
        state = device_state(session, device_id="stb-1", bundle=done["bundle"])
    assert read == [
        Outcome(progress["job_id"], "progress", status=progress["state"], bytes_done=progress["bytes_done"],
                bytes_total=progress["bytes_total"], rate_bps=progress["rate_bps"], eta_s=progress["eta_s"]),
        Outcome(failed["job_id"], "failed", status="failed", failure_type=failed["reason"],
                error=failed["detail"], retryable=failed["retryable"]),
        Outcome(done["job_id"], "succeeded", status="done", bytes_done=done["bytes_wire"]),
    ]  # fmt: skip
    assert state is not None
    assert (state.active_version, state.previous_version, state.job_id) == (
        done["version"],
        done["previous"],
        done["job_id"],
    )
