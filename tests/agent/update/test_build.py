"""Every role gets firmware.*; outside the launcher they are rejected with what to do, inside they run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station_agent.commands.base import CommandContext
from station_agent.config import AgentConfig, DeviceSettings
from station_agent.errors import CommandRejected
from station_agent.outbox import Outbox
from station_agent.runtime import build_role
from station_agent.state import StateStore
from station_agent.update import launcher as boot
from station_protocol import firmware as fw


def _ctx(name: str, args: dict) -> CommandContext:
    return CommandContext(command_id="c1", name=name, args=args, sent_ms=0, received_ms=0)


@pytest.mark.parametrize("role", ["stb", "router"])
def test_without_the_launcher_firmware_commands_are_rejected(
    tmp_path: Path, role: str, store: StateStore, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(boot.ENV_ROOT, raising=False)
    cfg = AgentConfig(device=DeviceSettings(id=f"{role}-fw-1", role=role), state_dir=tmp_path)
    parts = build_role(cfg, role, device_id=f"{role}-fw-1", store=store, outbox=outbox)
    assert {fw.UPDATE, fw.STATUS} <= set(parts.handlers)
    with pytest.raises(CommandRejected, match="launcher"):
        parts.handlers[fw.UPDATE](_ctx(fw.UPDATE, {}))
    parts.close()


def test_under_the_launcher_status_reports_the_slots(
    tmp_path: Path, store: StateStore, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ab"
    (root / "slots" / "a").mkdir(parents=True)
    boot.write_json_atomic(root / "slots" / "a" / boot.SLOT_FILE, {"version": "0.1.0"})
    boot.write_boot(root, {"active": "a", "pending": None, "last_update": None})
    monkeypatch.setenv(boot.ENV_ROOT, str(root))
    monkeypatch.setenv(boot.ENV_SLOT, "a")
    cfg = AgentConfig(device=DeviceSettings(id="router-fw-2", role="router"), state_dir=tmp_path)
    parts = build_role(cfg, "router", device_id="router-fw-2", store=store, outbox=outbox)
    assert "firmware" in [name for name, _loop in parts.loops]
    out = parts.handlers[fw.STATUS](_ctx(fw.STATUS, {}))
    assert (out["agent_slot"], out["slots"]["a"], out["slots"]["b"]["state"]) == (
        "a",
        {"version": "0.1.0", "state": "good"},
        "inactive",
    )
    with pytest.raises(CommandRejected, match="args"):
        parts.handlers[fw.UPDATE](_ctx(fw.UPDATE, {"release_id": "x"}))
    accepted = parts.handlers[fw.UPDATE](
        _ctx(
            fw.UPDATE, {"release_id": "os-1.0", "kind": "os", "version": "1.0", "manifest_url": "http://x/m"}
        )
    )
    assert (accepted["state"], accepted["reason"]) == ("refused", "incompatible")  # no RAUC on this box
    assert json.loads(outbox.peek(10)[-1].payload)["body"]["detail"]["reason"] == "incompatible"
    parts.close()
