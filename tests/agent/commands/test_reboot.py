"""reboot: dry run only reports; real mode starts the configured command through the runner."""

from __future__ import annotations

from station_agent.commands import CommandContext, Reboot

from ..fakes import FakeRunner

CTX = CommandContext(command_id="c1", name="reboot", args={}, sent_ms=0, received_ms=0)


def test_dry_run_starts_nothing() -> None:
    runner = FakeRunner()
    out = Reboot(runner=runner, command=["systemctl", "reboot"], dry_run=True, device_id="stb-0001")(CTX)
    assert out == {"dry_run": True, "command": ["systemctl", "reboot"]}
    assert runner.spawned == []


def test_real_mode_spawns_the_configured_command() -> None:
    runner = FakeRunner()
    out = Reboot(runner=runner, command=["/sbin/reboot", "-f"], dry_run=False, device_id="stb-0001")(CTX)
    assert runner.spawned == [["/sbin/reboot", "-f"]]
    assert out == {"dry_run": False, "command": ["/sbin/reboot", "-f"], "pid": 4242}
