"""`python -m station_controller.devstack run`: secrets kept, whole stack up, clean stop on SIGINT."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from station_controller.devstack import free_port
from station_controller.devstack.run import SECRET_NAMES, load_or_create_secrets
from tests.support import wait_until


def test_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"

    first = load_or_create_secrets(path)
    second = load_or_create_secrets(path)

    assert first == second
    assert set(first) == set(SECRET_NAMES)
    assert all(len(value) >= 32 for value in first.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_secret_is_added_without_touching_the_others(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("STATION_SECRET_KEY=kept-kept-kept-kept-kept\n")

    values = load_or_create_secrets(path)

    assert values["STATION_SECRET_KEY"] == "kept-kept-kept-kept-kept"
    assert load_or_create_secrets(path)["STATION_MQTT_PASSWORD"] == values["STATION_MQTT_PASSWORD"]


@pytest.mark.e2e
def test_devstack_runs_the_whole_stack_and_stops_cleanly(tmp_path: Path) -> None:
    http_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STATION_")},
        "STATION_MQTT_PORT": str(free_port()),
        "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",
        "STATION_HTTP_PORT": str(http_port),
    }
    out = tmp_path / "out.txt"
    data_dir = tmp_path / "var"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "station_controller.devstack", "run", "--data-dir", str(data_dir)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        wait_until(lambda: "dev stack is up" in out.read_text() or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, out.read_text()
        admin = (data_dir / "admin-password.txt").read_text().strip()
        assert f"admin / {admin}" in out.read_text()
        assert httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=5).is_success
        wait_until(lambda: "connected to" in (data_dir / "logs" / "agent.log").read_text(), timeout=60)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.read_text()
    order = [
        text.index(f"stopping {name}")
        for name in ("demo agent", "controller", "victoria-metrics", "mosquitto")
    ]
    assert order == sorted(order)
    assert "mosquitto stopped (exit 0)" in text
    assert "victoria-metrics stopped (exit 0)" in text
