"""stationctl installs on a staff laptop without the server: a fresh venv gets protocol + stationctl only.

Builds copies of protocol/ and stationctl/ in a temporary directory (an in-tree build would write
build/ and egg-info into the shared checkout) and installs them with pip's normal configuration.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 540  # resolving and installing httpx, rich, fastcdc and their few dependencies
SERVER_ONLY = {
    "fastapi",
    "uvicorn",
    "netmiko",
    "ansible-core",
    "ansible-runner",
    "psycopg",
    "psycopg-binary",
    "sqlalchemy",
    "alembic",
    "paho-mqtt",
    "influxdb-client",
    "station-controller",
}
NEEDED = {"stationctl", "station-protocol", "httpx", "rich", "fastcdc"}


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _copy_source(name: str, dest: Path) -> Path:
    junk = shutil.ignore_patterns("*.egg-info", "__pycache__", "build", "dist")
    return Path(shutil.copytree(ROOT / name, dest / name, ignore=junk))


@pytest.fixture(scope="module")
def laptop_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("laptop")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    sources = [str(_copy_source(name, work / "src")) for name in ("protocol", "stationctl")]
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *sources],
        check=True,
        timeout=PIP_TIMEOUT_S,
    )
    return venv


@pytest.mark.timeout(PIP_TIMEOUT_S + 60)
def test_installing_stationctl_pulls_in_no_server_dependency(laptop_venv: Path) -> None:
    listed = subprocess.run(
        [str(laptop_venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    installed = {_normalise(entry["name"]) for entry in json.loads(listed.stdout)}
    assert NEEDED - installed == set()
    assert installed & SERVER_ONLY == set()


@pytest.mark.timeout(PIP_TIMEOUT_S + 60)
def test_the_installed_console_script_finds_every_feature_command(laptop_venv: Path) -> None:
    # --help imports every feature module (content imports the compiled FastCDC chunker).
    shown = subprocess.run(
        [str(laptop_venv / "bin" / "stationctl"), "--help"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=laptop_venv,
    )
    assert "{login,config,content,firmware,provision,rollout}" in shown.stdout
    publish = subprocess.run(
        [str(laptop_venv / "bin" / "stationctl"), "content", "publish", "--help"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=laptop_venv,
    )
    assert "--version" in publish.stdout
