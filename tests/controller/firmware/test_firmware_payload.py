"""The ``firmware`` campaign payload on the real campaign engine (SQLite and PostgreSQL): commands as the
agent gets them, progress through the real ingest pipeline to both handlers (campaign outcomes and the
firmware device state), success counted only at ``committed``, a rolled-back canary pausing the campaign."""

from __future__ import annotations

import queue
from typing import Any

from station_controller.campaigns.device_events import SqlCampaignEvents
from station_controller.firmware import service
from station_controller.firmware.campaign_payload import FirmwarePayload
from station_controller.firmware.device_events import FirmwareEvents
from station_controller.firmware.devices import campaign_device_progress, device_firmware, device_history
from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.pipeline import Message, Pipeline
from station_controller.ingest.presence import PresenceStore
from station_controller.observability.metrics import IngestStats
from station_protocol import Command, Event, decode, encode, make
from tests.controller.campaigns.conftest import Fleet
from tests.controller.firmware.signing import AGENT_FILES, Key, document, manifest
from tests.fakes.ingest import FakeDirectory, FakePoints


def publish(fleet: Fleet, key: Key, version: str) -> str:
    with fleet.sessions() as session:
        found, _ = service.upload_release(
            session, settings=fleet.settings, document=document(key, manifest(version, AGENT_FILES)), by="t"
        )
        for path, data in AGENT_FILES.items():
            service.put_file(
                session, settings=fleet.settings, release_id=found.release_id, path=path, pieces=[data]
            )
    return found.release_id


def updates(fleet: Fleet) -> list[tuple[str, Command]]:
    found = []
    for message in fleet.publisher.sent:
        envelope = decode(message["payload"])  # type: ignore[arg-type]
        if isinstance(envelope.body, Command) and envelope.body.name == "firmware.update":
            found.append((envelope.dev, envelope.body))
    return found


def pipeline_for(fleet: Fleet, devices: list[str]) -> Pipeline:
    known = KnownDevices(FakeDirectory(dict.fromkeys(devices, "stb")))
    known.refresh()
    stats = IngestStats()
    return Pipeline(
        inbox=queue.Queue[Message](),
        known=known,
        presence=PresenceStore(stats=stats, offline_after_s=60),
        points=FakePoints(),
        results=None,
        stats=stats,
        dedup_window=100,
        event_handlers=[SqlCampaignEvents(fleet.sessions, fleet.payloads), FirmwareEvents(fleet.sessions)],
    )


def progress(pipeline: Pipeline, device: str, job: str, state: str, **extra: Any) -> None:
    detail = {
        "job_id": job,
        "release_id": "agent-0.3.0",
        "kind": "agent",
        "version": "0.3.0",
        "state": state,
        "from_version": "0.2.0",
        "bytes_done": 70_018 if state != "queued" else 0,
        "bytes_total": 70_018,
        **extra,
    }
    message = make(device, Event(name="firmware.progress", detail=detail))
    pipeline.handle(f"st/v1/{device}/event", encode(message), 1.0)
    pipeline.flush_results()


def test_a_firmware_campaign_succeeds_only_at_health_commit_canary_first(fleet: Fleet, fw_key: Key) -> None:
    release = publish(fleet, fw_key, "0.3.0")
    canary, other = fleet.add_stations(2)
    cid = fleet.start(
        payload_kind="firmware",
        payload={"kind": "agent"},  # the newest agent release
        waves={"canary": ["S0001"], "percentages": [100]},
        thresholds={"min_sample": 1, "error_pct": 0},
        schedule={"window_start": "00:30", "window_end": "05:30"},
        device_rate_bps=2_000_000,
    )
    assert fleet.campaign(cid).payload == {
        "release_id": release,
        "kind": "agent",
        "version": "0.3.0",
        "health_deadline_s": 300,
    }
    scheduler = fleet.scheduler()
    scheduler.step()
    [(device, command)] = updates(fleet)
    assert device == canary  # the canary wave alone
    job = fleet.device(cid, canary).job_id
    assert job is not None
    args = command.args
    assert args["job_id"] == job
    assert args["manifest_url"].endswith(f"/firmware/releases/{release}/manifest.json")
    assert args["files_base_url"].endswith(f"/firmware/releases/{release}/files/")
    assert args["rate_kbit"] == 2000
    assert args["windows_ms"]
    # the fleet's night (01:00 station time) is inside 00:30-05:30: the first window runs from now to
    # 05:30, the ones between are the whole five hours, the last ends where the list does (now + days)
    first, *between, last = args["windows_ms"]
    now_ms = int(fleet.clock().timestamp() * 1000)
    assert first == [now_ms, now_ms + int(4.5 * 3600 * 1000)]
    assert between
    assert all(end - start == 5 * 3600 * 1000 for start, end in between)
    assert 0 < last[1] - last[0] <= 5 * 3600 * 1000

    pipeline = pipeline_for(fleet, [canary, other])
    for state in ("queued", "downloading", "installing", "restarting", "health_check"):
        progress(pipeline, canary, job, state)
        assert fleet.device(cid, canary).state == "running"  # a finished download is not a success
        assert fleet.device(cid, canary).status == state
    scheduler.step()
    assert [d for d, _ in updates(fleet)] == [canary]  # the wave waits for the canary's commit
    progress(pipeline, canary, job, "committed")
    assert fleet.device(cid, canary).state == "succeeded"

    scheduler.step()
    scheduler.step()
    assert [d for d, _ in updates(fleet)] == [canary, other]
    job2 = fleet.device(cid, other).job_id
    assert job2 is not None
    progress(pipeline, other, job2, "downloading")
    with fleet.sessions() as session:
        counts, rows = campaign_device_progress(session, campaign_id=cid)
        assert counts == {"committed": 1, "downloading": 1}
        assert {r.device_id: r.state for r in rows} == {canary: "committed", other: "downloading"}
        history = [h.state for h in reversed(device_history(session, device_id=canary))]
        assert history == ["queued", "downloading", "installing", "restarting", "health_check", "committed"]
    progress(pipeline, other, job2, "committed")
    scheduler.step()
    assert fleet.campaign(cid).state == "finished"


def test_a_rolled_back_canary_pauses_the_campaign_and_no_other_device_gets_it(
    fleet: Fleet, fw_key: Key
) -> None:
    release = publish(fleet, fw_key, "0.3.0")
    canary, *others = fleet.add_stations(3)
    cid = fleet.start(
        payload_kind="firmware",
        payload={"release_id": release},
        waves={"canary": ["S0001"], "percentages": [100]},
        thresholds={"min_sample": 1, "error_pct": 0},
        schedule={"window_start": None, "window_end": None},
    )
    scheduler = fleet.scheduler()
    scheduler.step()
    [(device, command)] = updates(fleet)
    assert device == canary
    assert "windows_ms" not in command.args  # no window: restart at any time
    job = fleet.device(cid, canary).job_id
    assert job is not None
    pipeline = pipeline_for(fleet, [canary, *others])
    progress(pipeline, canary, job, "restarting")
    detail = "agent 0.3.0 exited 3 times at start (ImportError: no module named station_agent.boom)"
    progress(pipeline, canary, job, "rolled_back", reason="crashed_at_start", detail=detail)
    row = fleet.device(cid, canary)
    assert (row.state, row.failure_type) == ("failed", "crashed_at_start")  # no retry of a crashing build
    for _ in range(3):
        scheduler.step()
    assert fleet.campaign(cid).state == "paused"
    assert [d for d, _ in updates(fleet)] == [canary]  # nobody else was sent the release
    with fleet.sessions() as session:
        view = device_firmware(session, device_id=canary)
        assert (view.state, view.reason, view.detail) == ("rolled_back", "crashed_at_start", detail)


def test_refusals_fail_with_their_reason_and_an_already_installed_version_counts_as_done(
    fleet: Fleet, fw_key: Key
) -> None:
    release = publish(fleet, fw_key, "0.3.0")
    first, second = fleet.add_stations(2)
    cid = fleet.start(
        payload_kind="firmware",
        payload={"release_id": release},
        thresholds={"min_sample": 5, "error_pct": 50},
        schedule={"window_start": None, "window_end": None},
    )
    fleet.scheduler().step()
    pipeline = pipeline_for(fleet, [first, second])
    job1, job2 = fleet.device(cid, first).job_id, fleet.device(cid, second).job_id
    assert job1
    assert job2
    progress(pipeline, first, job1, "refused", reason="tampered", detail="sha256 of agent.json differs")
    progress(pipeline, second, job2, "refused", reason="not_newer", from_version="0.3.0")
    assert (fleet.device(cid, first).state, fleet.device(cid, first).failure_type) == ("failed", "tampered")
    assert fleet.device(cid, second).state == "succeeded"


def test_estimate_counts_the_release_for_devices_not_on_its_version(fleet: Fleet, fw_key: Key) -> None:
    release = publish(fleet, fw_key, "0.3.0")
    on_it, behind = fleet.add_stations(2)
    with fleet.sessions() as session:
        from station_controller.registry.models import Device

        device = session.get(Device, on_it)
        assert device is not None
        device.agent_version = "0.3.0"
        session.commit()
        total = service.get_release(session, settings=fleet.settings, release_id=release).total_bytes
        estimate = FirmwarePayload(fleet.settings).estimate_bytes(
            session, payload={"release_id": release}, device_ids=[on_it, behind]
        )
    assert estimate == {on_it: 0, behind: total}
