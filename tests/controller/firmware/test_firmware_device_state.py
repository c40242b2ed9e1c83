"""Device firmware state: the birth's firmware fields reach the registry through ingest's presence writes;
progress events build state and history; the stuck sweep marks devices past a state's deadline."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from station_controller.firmware.device_events import FirmwareEvents
from station_controller.firmware.devices import device_firmware, device_history, version_distribution
from station_controller.firmware.stuck import StuckSweeper, list_stuck, mark_stuck
from station_controller.ingest.events import DeviceEvent
from station_controller.ingest.presence import PresenceStore
from station_controller.ingest.registry_io import SqlRegistry
from station_controller.kernel.clock import utcnow
from station_controller.observability.metrics import IngestStats
from station_controller.registry.models import Device
from station_controller.registry.service import create_station
from station_protocol import Birth, decode

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "messages" / "birth_firmware.json"


def _device(sessions: sessionmaker[Session], device_id: str, region: str, version: str | None = None) -> None:
    with sessions() as session:
        code = device_id.upper()
        station = create_station(session, code=code, name=code, region_path=region)
        session.add(
            Device(
                id=device_id,
                station_id=station.id,
                role="stb",
                serial=f"SN-{code}",
                region_path=station.region.path,
                status="enrolled",
                agent_version=version,
            )
        )
        session.commit()


def test_a_birth_with_firmware_fields_lands_in_the_registry(db: sessionmaker[Session]) -> None:
    golden = json.loads(GOLDEN.read_text())["message"]
    device_id = golden["dev"]
    _device(db, device_id, "河南省/南阳市/唐河县/王庄村")
    birth = decode(encode_dict(golden)).body
    assert isinstance(birth, Birth)
    presence = PresenceStore(stats=IngestStats(), offline_after_s=60)
    presence.birth(device_id, birth, 1_795_700_000.0)
    SqlRegistry(db).write_presence(presence.take_dirty())
    with db() as session:
        view = device_firmware(session, device_id=device_id)
    assert (view.agent_version, view.agent_slot) == ("0.2.0", "b")
    assert (view.os_version, view.os_slot) == ("2026.11.1", "rootfs.1")
    assert view.last_update is not None
    assert (view.last_update["release_id"], view.last_update["state"]) == ("agent-0.2.0", "committed")


def encode_dict(message: dict[str, object]) -> bytes:
    return json.dumps(message).encode()


def test_version_distribution_per_region(db: sessionmaker[Session]) -> None:
    _device(db, "stb-a", "河南省/南阳市/唐河县/王庄村", "0.2.0")
    _device(db, "stb-b", "河南省/南阳市/唐河县/李庄村", "0.3.0")
    _device(db, "stb-c", "河南省/南阳市/新野县/前庄村", "0.3.0")
    _device(db, "stb-d", "河南省/信阳市/光山县/北村", None)
    with db() as session:
        dist = version_distribution(session, kind="agent", depth=3)
        assert dist == {
            "河南省/信阳市/光山县": {"-": 1},
            "河南省/南阳市/唐河县": {"0.2.0": 1, "0.3.0": 1},
            "河南省/南阳市/新野县": {"0.3.0": 1},
        }
        assert version_distribution(session, kind="agent", depth=1, region="河南省/南阳市") == {
            "河南省": {"0.2.0": 1, "0.3.0": 2}
        }


def _event(device_id: str, job: str, state: str, **extra: object) -> DeviceEvent:
    detail = {"job_id": job, "release_id": "agent-0.3.0", "kind": "agent", "version": "0.3.0", "state": state}
    return DeviceEvent(device_id, "firmware.progress", {**detail, **extra})


def test_progress_events_build_state_and_one_history_row_per_state(db: sessionmaker[Session]) -> None:
    _device(db, "stb-a", "河南省/南阳市/唐河县/王庄村", "0.2.0")
    handler = FirmwareEvents(db)
    handler.record([_event("stb-a", "j1", "downloading", bytes_done=10, bytes_total=100)])
    handler.record([_event("stb-a", "j1", "downloading", bytes_done=90, bytes_total=100)])
    handler.record([DeviceEvent("stb-a", "firmware.progress", {"state": "nonsense"})])  # ignored
    handler.record(
        [_event("stb-a", "j1", "refused", reason="incompatible", detail="role router not in ['stb']")]
    )
    with db() as session:
        view = device_firmware(session, device_id="stb-a")
        assert (view.state, view.reason, view.detail) == (
            "refused",
            "incompatible",
            "role router not in ['stb']",
        )
        states = [(h.state, h.reason) for h in reversed(device_history(session, device_id="stb-a"))]
        assert states == [("downloading", None), ("refused", "incompatible")]


def test_a_device_silent_past_its_state_deadline_is_marked_stuck_once(db: sessionmaker[Session]) -> None:
    _device(db, "stb-a", "河南省/南阳市/唐河县/王庄村")
    _device(db, "stb-b", "河南省/南阳市/唐河县/李庄村")
    handler = FirmwareEvents(db)
    handler.record([_event("stb-a", "j1", "installing"), _event("stb-b", "j2", "queued")])
    later = utcnow() + timedelta(hours=2)
    with db() as session:
        assert mark_stuck(session, now=later) == ["stb-a"]  # queued waits for its window: never stuck
        assert mark_stuck(session, now=later + timedelta(hours=1)) == []  # marked once
        assert [row.device_id for row in list_stuck(session)] == ["stb-a"]
        assert device_history(session, device_id="stb-a")[0].state == "stuck"
    handler.record([_event("stb-a", "j1", "restarting")])
    with db() as session:
        assert list_stuck(session) == []  # a new state clears the mark
    sweeper = StuckSweeper(db, interval_s=3600, deadlines_s={"restarting": -1.0})
    assert sweeper.run_once() == ["stb-a"]
    sweeper.start()
    sweeper.stop()
