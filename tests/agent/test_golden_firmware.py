"""The agent's real firmware.* handlers take the golden args; their outputs and events match the goldens.

The handlers are the ones runtime.build_role gives every role under the launcher (update/build.py's
with_update, real FirmwareService on a real slot root, events through the outbox), called through the
real Dispatcher. Outputs and events must decode with station_protocol.contract and carry the golden keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.golden import command_golden, event_golden
from station_agent.config import AgentConfig, DeviceSettings
from station_agent.outbox import Outbox
from station_agent.roles import RoleParts
from station_agent.runtime import build_role
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_agent.update import launcher as boot
from station_protocol import contract
from station_protocol import firmware as fw

from .gateway.conftest import DEVICE
from .test_golden_messages import dispatcher, queued_events, run


def launcher_parts(
    tmp_path: Path, store: StateStore, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> RoleParts:
    root = tmp_path / "ab"
    (root / "slots" / "a").mkdir(parents=True)
    boot.write_json_atomic(root / "slots" / "a" / boot.SLOT_FILE, {"version": "0.1.0"})
    boot.write_boot(root, {"active": "a", "pending": None, "last_update": None})
    monkeypatch.setenv(boot.ENV_ROOT, str(root))
    monkeypatch.setenv(boot.ENV_SLOT, "a")
    cfg = AgentConfig(device=DeviceSettings(id=DEVICE, role="stb"), state_dir=tmp_path)
    return build_role(cfg, "stb", device_id=DEVICE, store=store, outbox=outbox)


def test_firmware_update_and_status_answer_the_goldens(
    store: StateStore, outbox: Outbox, tunables: Tunables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = launcher_parts(tmp_path, store, outbox, monkeypatch)
    try:
        disp = dispatcher(store, outbox, tunables, parts.handlers)
        update = command_golden(fw.UPDATE)
        assert run(disp, fw.UPDATE, update["args"]) == update["output"]
        status = command_golden(fw.STATUS)
        out = run(disp, fw.STATUS, status["args"])
        assert set(out) == set(status["output"])
        assert set(out["slots"]) == set(status["output"]["slots"])
        assert all(set(slot) == {"version", "state"} for slot in out["slots"].values())
        assert out["job"] is not None
        assert out["job"]["job_id"] == update["args"]["job_id"]
    finally:
        parts.close()


def test_firmware_progress_event_has_the_golden_keys(
    store: StateStore, outbox: Outbox, tunables: Tunables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = launcher_parts(tmp_path, store, outbox, monkeypatch)
    try:
        disp = dispatcher(store, outbox, tunables, parts.handlers)
        os_update = {**command_golden(fw.UPDATE)["args"], "kind": "os"}  # no RAUC here: refused at once
        out = run(disp, fw.UPDATE, os_update)
        assert (out["state"], out["reason"]) == ("refused", "incompatible")
        [event] = queued_events(outbox)
        assert event["name"] == fw.PROGRESS
        contract.decode_event(fw.PROGRESS, event["detail"])
        assert set(event["detail"]) == set(event_golden(fw.PROGRESS))
        assert (event["detail"]["job_id"], event["detail"]["campaign_id"]) == (
            os_update["job_id"],
            os_update["campaign_id"],
        )
    finally:
        parts.close()
