"""Process helper: a service that dies while starting is reported with its log; stop escalates to SIGKILL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from station_controller.devstack import ServiceStartError, ToolFailed, free_port, port_is_free
from station_controller.devstack.processes import ManagedProcess, run_tool


def test_process_that_exits_while_starting_reports_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess(
        name="dies",
        argv=[sys.executable, "-c", "print('broken config line 3'); raise SystemExit(3)"],
        log_file=tmp_path / "dies.log",
    )

    with pytest.raises(ServiceStartError, match="(?s)exited with code 3.*broken config line 3"):
        proc.start(ready=lambda: False, timeout_s=30)

    assert not proc.running


def test_process_that_never_gets_ready_is_stopped(tmp_path: Path) -> None:
    proc = ManagedProcess(
        name="slow",
        argv=[sys.executable, "-c", "import time; time.sleep(60)"],
        log_file=tmp_path / "slow.log",
    )

    with pytest.raises(ServiceStartError, match="timed out"):
        proc.start(ready=lambda: False, timeout_s=0.2)

    assert not proc.running


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    code = (
        "import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    )
    proc = ManagedProcess(name="stubborn", argv=[sys.executable, "-c", code], log_file=tmp_path / "s.log")
    proc.start(ready=marker.exists, timeout_s=30)

    proc.stop(timeout_s=0.2)

    assert not proc.running


def test_run_tool_returns_stdout_and_reports_failures() -> None:
    assert run_tool([sys.executable, "-c", "print('ok')"]) == "ok\n"
    with pytest.raises(ToolFailed, match="(?s)exited with 2.*bad flag"):
        run_tool([sys.executable, "-c", "import sys; print('bad flag', file=sys.stderr); sys.exit(2)"])


def test_free_port_is_free() -> None:
    assert port_is_free(free_port())
