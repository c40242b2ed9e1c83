"""diagnostics: TCP probes against local sockets, DNS of the controller host, skew, disk, queue depth."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

import pytest

from station_agent.commands import CommandContext, Diagnostics, DiagnosticsTargets


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_reports_every_probe(listener: int, tmp_path: Path) -> None:
    dead = closed_port()
    targets = DiagnosticsTargets(
        broker_host="127.0.0.1",
        broker_port=listener,
        controller_url=f"http://localhost:{dead}",
        content_path=str(tmp_path),
        timeout_s=2.0,
    )
    ctx = CommandContext(command_id="c1", name="diagnostics", args={}, sent_ms=1_000, received_ms=1_250)
    out = Diagnostics(targets, queue_depth=lambda: 17)(ctx)
    assert out["broker_tcp"]["ok"] is True
    assert out["controller_tcp"]["ok"] is False
    assert out["controller_tcp"]["target"] == f"localhost:{dead}"
    assert out["controller_dns"]["ok"] is True
    assert out["controller_dns"]["addresses"]
    assert out["clock_skew_ms"] == 250
    assert out["queue_depth"] == 17
    assert out["disk_free_bytes"] > 0


def test_without_a_controller_url_only_the_broker_is_probed(listener: int, tmp_path: Path) -> None:
    targets = DiagnosticsTargets("127.0.0.1", listener, "", str(tmp_path / "missing"))
    ctx = CommandContext(command_id="c1", name="diagnostics", args={}, sent_ms=0, received_ms=0)
    out = Diagnostics(targets, queue_depth=lambda: 0)(ctx)
    assert "controller_tcp" not in out
    assert "controller_dns" not in out
    assert out["disk_free_bytes"] is None
