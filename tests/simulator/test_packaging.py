"""The simulator installs without the server: a fresh venv gets protocol + simulator + paho + httpx only.

Builds copies of protocol/ and simulator/ in a temporary directory (an in-tree build would write
build/ and egg-info into the shared checkout) and installs them with pip's normal configuration
(the local wheels and index the bootstrap uses). The installed ``station-sim`` then runs the
README's broker-only form (``--stations N --credentials FILE``) against a real Mosquitto.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station_protocol import Channel, Telemetry, decode
from station_simulator.credentials import save_credentials
from station_simulator.local import local_fleet
from tests.support import BrokerHandle, wait_until

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 540  # resolving and installing paho-mqtt, httpx and their few dependencies
SERVER_ONLY = {
    "fastapi",
    "uvicorn",
    "netmiko",
    "paramiko",
    "ansible-core",
    "ansible-runner",
    "psycopg",
    "psycopg-binary",
    "sqlalchemy",
    "alembic",
    "influxdb-client",
    "station-controller",
    "station-agent",
    "stationctl",
    "psutil",
}
NEEDED = {"station-simulator", "station-protocol", "paho-mqtt", "httpx"}
STATIONS = 3
MESSAGES = 2


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _copy_source(name: str, dest: Path) -> Path:
    junk = shutil.ignore_patterns("*.egg-info", "__pycache__", "build", "dist")
    return Path(shutil.copytree(ROOT / name, dest / name, ignore=junk))


@pytest.fixture(scope="module")
def sim_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("simulator")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    sources = [str(_copy_source(name, work / "src")) for name in ("protocol", "simulator")]
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *sources],
        check=True,
        timeout=PIP_TIMEOUT_S,
    )
    return venv


@pytest.mark.timeout(PIP_TIMEOUT_S + 60)
def test_installing_the_simulator_pulls_in_no_server_dependency(sim_venv: Path) -> None:
    listed = subprocess.run(
        [str(sim_venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    installed = {_normalise(entry["name"]) for entry in json.loads(listed.stdout)}
    assert NEEDED - installed == set()
    assert installed & SERVER_ONLY == set()


@pytest.mark.integration
@pytest.mark.timeout(PIP_TIMEOUT_S + 180)
def test_the_installed_station_sim_runs_the_readme_command_against_a_broker(
    sim_venv: Path, broker: BrokerHandle, tmp_path: Path
) -> None:
    creds = local_fleet(STATIONS, host=broker.host, port=broker.port, prefix="pkg")
    for cred in creds:
        broker.add_device(cred.device_id, cred.mqtt_password)
    credentials = tmp_path / "sim.jsonl"
    save_credentials(credentials, creds)
    observer = broker.controller_client()
    observer.connect()
    observer.subscribe("st/v1/+/telemetry")
    try:
        run = subprocess.run(
            [
                str(sim_venv / "bin" / "station-sim"),
                "--stations",
                str(STATIONS),
                "--credentials",
                str(credentials),
                "--messages",
                str(MESSAGES),
                "--interval",
                "0.2",
                "--processes",
                "1",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # not the repo: only the venv's packages are importable
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        summary = json.loads(run.stdout)
        assert summary["devices"] == STATIONS
        assert summary["telemetry_acked"] == STATIONS * MESSAGES
        wait_until(
            lambda: len(observer.received()) >= STATIONS * MESSAGES,
            timeout=30,
            message="every simulated sample reached the broker's subscriber",
        )
    finally:
        observer.close()
    senders = {
        decode(m.payload).dev
        for m in observer.received()
        if m.topic.endswith(Channel.TELEMETRY.value) and isinstance(decode(m.payload).body, Telemetry)
    }
    assert senders == {cred.device_id for cred in creds}
