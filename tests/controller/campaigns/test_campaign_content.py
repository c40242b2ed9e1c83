"""Content sync as a campaign payload: the real content service, commands as the agent would get them,
and device events through the real ingest pipeline's one event dispatcher."""

from __future__ import annotations

import queue
import random
from pathlib import Path

from station_controller.campaigns.device_events import SqlCampaignEvents
from station_controller.campaigns.payloads import PayloadAction
from station_controller.content import service as content
from station_controller.content.campaign_payload import ContentSync
from station_controller.content.devices import device_state
from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.pipeline import Message, Pipeline
from station_controller.ingest.presence import PresenceStore
from station_controller.observability.metrics import IngestStats
from station_protocol import Command, Event, decode, encode, make
from stationctl.chunker import DEFAULT_CHUNKING, Chunk, chunk_tree
from tests.controller.campaigns.conftest import Fleet
from tests.fakes.ingest import FakeDirectory, FakePoints


def publish(fleet: Fleet, src: Path, version: str) -> None:
    with fleet.sessions() as session:

        def sink(chunk: Chunk) -> None:
            content.store_chunk(
                session,
                settings=fleet.settings,
                digest=chunk.ref.sha256,
                size=chunk.ref.size,
                stored=chunk.stored,
            )

        files = chunk_tree(src, sink=sink)
        content.publish_version(
            session,
            settings=fleet.settings,
            bundle="math",
            version=version,
            files=files,
            chunking=DEFAULT_CHUNKING,
        )


def sent(fleet: Fleet, name: str) -> list[tuple[str, Command]]:
    found = []
    for message in fleet.publisher.sent:
        envelope = decode(message["payload"])  # type: ignore[arg-type]
        if isinstance(envelope.body, Command) and envelope.body.name == name:
            found.append((envelope.id, envelope.body))
    return found


def pipeline_for(fleet: Fleet, devices: list[str]) -> Pipeline:
    known = KnownDevices(FakeDirectory(dict.fromkeys(devices, "stb")))
    known.refresh()
    stats = IngestStats()
    sink = SqlCampaignEvents(fleet.sessions, fleet.payloads)
    return Pipeline(
        inbox=queue.Queue[Message](),
        known=known,
        presence=PresenceStore(stats=stats, offline_after_s=60),
        points=FakePoints(),
        results=None,
        stats=stats,
        dedup_window=100,
        event_handlers=[sink],
    )


def test_a_content_campaign_sends_content_sync_and_follows_agent_events(fleet: Fleet, tmp_path: Path) -> None:
    src = tmp_path / "bundle"
    src.mkdir()
    (src / "lesson.bin").write_bytes(random.Random(4).randbytes(300_000))
    publish(fleet, src, "v1")
    action: PayloadAction = ContentSync(fleet.settings)
    fleet.payloads["content"] = action
    [device] = fleet.add_stations(1)
    cid = fleet.start(
        payload_kind="content",
        payload={"bundle": "math"},  # "latest" → v1
        device_rate_bps=2_000_000,
        schedule={"window_start": "23:00", "window_end": "06:00"},
    )
    assert fleet.campaign(cid).payload == {"bundle": "math", "version": "v1", "activate": True}
    fleet.scheduler().step()
    [(command_id, command)] = sent(fleet, "content.sync")
    job = fleet.device(cid, device).job_id
    assert command_id == job
    assert command.args["job_id"] == job
    assert command.args["window"] == {"start": "23:00", "end": "06:00", "utc_offset_min": 480}
    assert command.args["rate_kbit"] == 2000
    assert command.args["budget_bytes"] > 300_000  # the delta, never unbounded

    pipeline = pipeline_for(fleet, [device])
    progress = {
        "job_id": job,
        "bundle": "math",
        "version": "v1",
        "state": "downloading",
        "bytes_done": 1000,
        "bytes_total": 300_000,
        "rate_bps": 2e6,
        "eta_s": 1.2,
    }
    done = {
        "job_id": job,
        "bundle": "math",
        "version": "v1",
        "seq": 1,
        "activated": True,
        "previous": None,
        "bytes_wire": 300_100,
    }
    for name, detail in (("content.progress", progress), ("content.done", done)):
        pipeline.handle(f"st/v1/{device}/event", encode(make(device, Event(name=name, detail=detail))), 1.0)
    assert fleet.device(cid, device).state == "running"  # nothing is written per message
    pipeline.flush_results()
    row = fleet.device(cid, device)
    assert (row.state, row.bytes_done) == ("succeeded", 300_000)
    with fleet.sessions() as session:
        state = device_state(session, device_id=device, bundle="math")
        assert state is not None
        assert state.active_version == "v1"


def test_cancelling_a_content_campaign_sends_content_cancel_for_the_job(fleet: Fleet, tmp_path: Path) -> None:
    src = tmp_path / "bundle"
    src.mkdir()
    (src / "a.bin").write_bytes(random.Random(5).randbytes(100_000))
    publish(fleet, src, "v1")
    fleet.payloads["content"] = ContentSync(fleet.settings)
    devices = fleet.add_stations(2)
    cid = fleet.start(payload_kind="content", payload={"bundle": "math", "version": "v1"})
    scheduler = fleet.scheduler()
    scheduler.step()
    jobs = {fleet.device(cid, d).job_id for d in devices}
    from station_controller.campaigns import service

    with fleet.sessions() as session:
        service.cancel_campaign(session, campaign_id=cid)
    scheduler.step()
    cancels = sent(fleet, "content.cancel")
    assert {c.args["job_id"] for _, c in cancels} == jobs
    # The agent's answer to its cancelled job does not count as a failure.
    pipeline = pipeline_for(fleet, devices)
    for device in devices:
        detail = {
            "job_id": fleet.device(cid, device).job_id,
            "bundle": "math",
            "version": "v1",
            "reason": "cancelled",
            "detail": "cancelled",
            "retryable": False,
        }
        pipeline.handle(
            f"st/v1/{device}/event", encode(make(device, Event(name="content.failed", detail=detail))), 1.0
        )
    pipeline.flush_results()
    assert set(fleet.states(cid).values()) == {"cancelled"}


def test_the_planner_uses_each_devices_delta(fleet: Fleet, tmp_path: Path) -> None:
    src = tmp_path / "bundle"
    src.mkdir()
    rng = random.Random(6)
    (src / "old.bin").write_bytes(rng.randbytes(400_000))
    publish(fleet, src, "v1")
    (src / "new.bin").write_bytes(rng.randbytes(200_000))
    publish(fleet, src, "v2")
    action = ContentSync(fleet.settings)
    fleet.payloads["content"] = action
    a, b = fleet.add_stations(2)
    pipeline = pipeline_for(fleet, [a, b])
    done = {"job_id": "manual", "bundle": "math", "version": "v1", "activated": True, "previous": None}
    pipeline.handle(f"st/v1/{a}/event", encode(make(a, Event(name="content.done", detail=done))), 1.0)
    pipeline.flush_results()
    with fleet.sessions() as session:
        sizes = action.estimate_bytes(session, payload={"bundle": "math", "version": "v2"}, device_ids=[a, b])
        full = content.delta_bytes(session, bundle="math", version="v2").wire_bytes
        delta = content.delta_bytes(session, bundle="math", version="v2", have_version="v1").wire_bytes
    assert sizes == {a: delta, b: full}
    assert 150_000 < delta < 260_000 < 400_000 < full
