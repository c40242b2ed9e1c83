"""ping echoes its arguments with the agent clock."""

from __future__ import annotations

from station_agent.commands import CommandContext, ping
from station_protocol import now_ms


def test_ping_echoes_args_and_agent_time() -> None:
    before = now_ms()
    out = ping(CommandContext(command_id="c1", name="ping", args={"n": 1}, sent_ms=0, received_ms=0))
    assert out["echo"] == {"n": 1}
    assert out["agent_time_ms"] >= before
