"""mosquitto.conf rendering: locked-down listener, our files, limits matching the protocol."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from station_controller.broker import BrokerConfig, render_config, write_config
from station_protocol import MAX_PAYLOAD_BYTES


def _config(tmp_path: Path, **overrides: object) -> BrokerConfig:
    base: dict[str, object] = {
        "data_dir": tmp_path,
        "port": 18830,
        "password_file": tmp_path / "passwd",
        "acl_file": tmp_path / "acl",
        "pid_file": tmp_path / "mosquitto.pid",
    }
    base.update(overrides)
    return BrokerConfig(**base)  # type: ignore[arg-type]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_default_config_is_locked_down_on_loopback(tmp_path: Path) -> None:
    lines = _lines(render_config(_config(tmp_path)))

    for expected in [
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {tmp_path / 'passwd'}",
        f"acl_file {tmp_path / 'acl'}",
        f"pid_file {tmp_path / 'mosquitto.pid'}",
        "persistence true",
        f"persistence_location {tmp_path}/",
        "autosave_interval 60",
        f"message_size_limit {MAX_PAYLOAD_BYTES}",
        "max_queued_messages 100000",
        "max_inflight_messages 100",
        f"log_dest file {tmp_path / 'mosquitto.log'}",
    ]:
        assert expected in lines
    assert [line for line in lines if line.startswith("listener")] == ["listener 18830 127.0.0.1"]
    assert lines[-2:] == ["listener 18830 127.0.0.1", "use_username_as_clientid true"]
    assert not any(line.startswith(("user ", "certfile", "keyfile")) for line in lines)


def test_host_user_and_log_file_are_configurable(tmp_path: Path) -> None:
    lines = _lines(
        render_config(_config(tmp_path, host="0.0.0.0", run_as_user="root", log_file=tmp_path / "x.log"))
    )

    assert "listener 18830 0.0.0.0" in lines
    assert "user root" in lines
    assert f"log_dest file {tmp_path / 'x.log'}" in lines


def test_tls_listener_added_when_cert_and_key_given(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        tls_port=8883,
        tls_cert=tmp_path / "c.pem",
        tls_key=tmp_path / "k.pem",
        tls_ca=tmp_path / "ca.pem",
    )

    lines = _lines(render_config(config))

    tls = lines[lines.index("listener 8883 127.0.0.1") :]
    assert tls == [
        "listener 8883 127.0.0.1",
        "use_username_as_clientid true",
        f"certfile {tmp_path / 'c.pem'}",
        f"keyfile {tmp_path / 'k.pem'}",
        "tls_version tlsv1.2",
        f"cafile {tmp_path / 'ca.pem'}",
    ]


def test_client_id_binding_is_set_per_listener_never_globally(tmp_path: Path) -> None:
    lines = _lines(
        render_config(_config(tmp_path, tls_port=8883, tls_cert=tmp_path / "c", tls_key=tmp_path / "k"))
    )

    # In the global section Mosquitto 2.0 would open an extra default listener on 0.0.0.0:1883.
    first_listener = next(i for i, line in enumerate(lines) if line.startswith("listener"))
    assert "use_username_as_clientid true" not in lines[:first_listener]
    assert lines.count("use_username_as_clientid true") == 2


def test_half_configured_tls_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TLS"):
        render_config(_config(tmp_path, tls_port=8883))


def test_write_config_is_private(tmp_path: Path) -> None:
    path = write_config(_config(tmp_path), tmp_path / "conf" / "mosquitto.conf")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "allow_anonymous false" in path.read_text()
