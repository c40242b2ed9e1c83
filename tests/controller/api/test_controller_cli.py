"""``station-controller`` commands: migrate, create-admin, demo-station (agent TOML)."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
from sqlalchemy import func, select

from station_agent.config import load_config
from station_controller import cli
from station_controller.auth.service import login
from station_controller.db import make_engine, make_session_factory
from station_controller.kernel.tokens import hash_token
from station_controller.registry.models import Device, Station
from station_controller.settings import Settings, get_settings


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """STATION_* environment for a CLI run on a temp SQLite registry; settings cache cleared around it."""
    monkeypatch.setenv("STATION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STATION_SECRET_KEY", secrets.token_urlsafe(24))
    monkeypatch.setenv("STATION_MQTT_PASSWORD", secrets.token_urlsafe(24))
    monkeypatch.setenv("STATION_PUBLIC_URL", "http://127.0.0.1:18080")
    monkeypatch.setenv("STATION_DEVICE_MQTT_PORT", "18830")
    monkeypatch.setenv("STATION_BROKER_PID_FILE", str(tmp_path / "no-broker.pid"))
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("0123456789abcdef0123456789abcdef\n")
    monkeypatch.setattr(cli, "MACHINE_ID", machine_id)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_migrate_then_create_admin_prints_a_working_password(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0
    assert cli.main(["create-admin", "--username", "root-admin"]) == 0
    password = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(password) >= 32
    factory = make_session_factory(make_engine(env.database_url))
    with factory() as session:
        _token, record = login(session, settings=env, username="root-admin", password=password)
        assert record.user.role == "admin"
    assert cli.main(["create-admin", "--username", "root-admin"]) == 1  # exists: a clear error, not a crash


def test_create_admin_reads_the_password_from_stdin(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["migrate"])
    monkeypatch.setattr("sys.stdin", io.StringIO("a very long chosen password\n"))
    assert cli.main(["create-admin", "--username", "ops", "--password-stdin"]) == 0
    assert "a very long chosen password" not in capsys.readouterr().out
    with make_session_factory(make_engine(env.database_url))() as session:
        login(session, settings=env, username="ops", password="a very long chosen password")


def test_demo_station_is_idempotent_and_writes_a_valid_agent_config(env: Settings, tmp_path: Path) -> None:
    cli.main(["migrate"])
    out = tmp_path / "demo" / "agent.toml"
    assert cli.main(["demo-station", "--out", str(out)]) == 0
    first = tomllib.loads(out.read_text())
    assert cli.main(["demo-station", "--out", str(out)]) == 0
    data = tomllib.loads(out.read_text())
    assert data["enrollment"]["token"] != first["enrollment"]["token"]
    assert data["device"] == {"role": "stb", "serial": "0123456789abcdef0123456789abcdef"}
    assert data["enrollment"]["controller_url"] == "http://127.0.0.1:18080"
    assert (data["mqtt"]["host"], data["mqtt"]["port"], data["telemetry"]["interval_s"]) == (
        "127.0.0.1",
        18830,
        5.0,
    )
    assert data["state_dir"] == str(out.parent / "state")
    config = load_config(out, env={})
    assert config.enrollment.configured
    assert config.device.role == "stb"
    with make_session_factory(make_engine(env.database_url))() as session:
        station = session.scalar(select(Station).where(Station.code == "demo-0001"))
        assert station is not None
        assert station.name == "演示站 Demo station"
        assert station.region.path == "河南省/南阳市/唐河县/城郊乡/王庄村"
        assert session.scalar(select(func.count()).select_from(Device)) == 1
        device = session.get(Device, "stb-0123456789abcdef0123456789abcdef")
        assert device is not None
        assert device.token_hash == hash_token(data["enrollment"]["token"])
