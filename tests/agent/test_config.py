"""Agent settings: defaults, precedence CLI > env > file, and fail-fast messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from station_agent.config import load_config
from station_agent.errors import ConfigError

MINIMAL = """
state_dir = "/tmp/agent-state"
[device]
id = "stb-0001"
role = "stb"
[mqtt]
host = "broker.example"
password = "secret-from-file"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), env={})
    assert cfg.device.id == "stb-0001"
    assert cfg.state_dir == Path("/tmp/agent-state")
    assert (cfg.mqtt.port, cfg.mqtt.keepalive, cfg.mqtt.reconnect_min_s, cfg.mqtt.reconnect_max_s) == (
        0,
        30,
        1.0,
        60.0,
    )
    assert (cfg.telemetry.interval_s, cfg.telemetry.content_path, cfg.telemetry.interfaces) == (
        30.0,
        "/",
        None,
    )
    assert (cfg.outbox.max_messages, cfg.outbox.max_bytes, cfg.outbox.batch) == (50000, 64 * 1024 * 1024, 100)
    assert (cfg.commands.default_timeout_s, cfg.commands.reboot_dry_run) == (30.0, False)
    assert not cfg.enrollment.configured


def test_env_overrides_file_and_cli_overrides_env(tmp_path: Path) -> None:
    env = {
        "AGENT_MQTT_PORT": "1884",
        "AGENT_MQTT_PASSWORD": "from-env",
        "AGENT_TELEMETRY_INTERVAL_S": "10",
        "AGENT_TELEMETRY_INTERFACES": "eth0, wlan0",
        "AGENT_COMMANDS_REBOOT_DRY_RUN": "yes",
        "AGENT_COMMANDS_REBOOT_COMMAND": "/sbin/reboot -f",
        "AGENT_STATE_DIR": "/env/state",
        "UNRELATED": "x",
    }
    cfg = load_config(write(tmp_path, MINIMAL), env=env, overrides={"mqtt.port": "1885", "state_dir": "/cli"})
    assert cfg.mqtt.port == 1885
    assert cfg.mqtt.password == "from-env"
    assert cfg.telemetry.interval_s == 10.0
    assert cfg.telemetry.interfaces == ("eth0", "wlan0")
    assert cfg.commands.reboot_dry_run is True
    assert cfg.commands.reboot_command == ("/sbin/reboot", "-f")
    assert cfg.state_dir == Path("/cli")


def test_toml_lists_and_numbers(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + '[telemetry]\ninterval_s = 5\ninterfaces = ["eth0"]\n[commands]\nreboot_command = ["true"]\n'
    )
    cfg = load_config(write(tmp_path, text), env={})
    assert cfg.telemetry.interval_s == 5.0
    assert isinstance(cfg.telemetry.interval_s, float)
    assert cfg.telemetry.interfaces == ("eth0",)
    assert cfg.commands.reboot_command == ("true",)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        (MINIMAL.replace("[mqtt]", '[mqtt]\nhots = "x"'), {}, "unknown key 'mqtt.hots'"),
        (MINIMAL + '[mqqt]\nhost = "x"\n', {}, "unknown section [mqqt]"),
        (MINIMAL, {"AGENT_MQTT_PORT": "eighteen"}, "env AGENT_MQTT_PORT: mqtt.port must be int"),
        (MINIMAL, {"AGENT_COMMANDS_REBOOT_DRY_RUN": "maybe"}, "commands.reboot_dry_run must be bool"),
        (MINIMAL, {"AGENT_DEVICE_ROLE": "toaster"}, "device.role must be one of"),
        (MINIMAL, {"AGENT_DEVICE_ID": "Bad_ID"}, "device.id 'Bad_ID' is not a valid id"),
        (MINIMAL, {"AGENT_TELEMETRY_INTERVAL_S": "0.5"}, "telemetry.interval_s must be >= 1"),
        (MINIMAL, {"AGENT_MQTT_RECONNECT_MIN_S": "90"}, "reconnect_min_s <= reconnect_max_s"),
        (MINIMAL, {"AGENT_MQTT_CA_FILE": "/nope.pem"}, "mqtt.ca_file is set but mqtt.tls is false"),
        (MINIMAL, {"AGENT_OUTBOX_MAX_BYTES": "1000"}, "outbox.max_bytes must be >= 65536"),
        (MINIMAL + "[outbox]\nbatch = 2.5\n", {}, "outbox.batch must be int"),
    ],
)
def test_bad_settings_fail_with_a_message_naming_the_key(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), env=env)
    assert expected in str(err.value)


def test_device_id_and_host_required_without_enrollment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="device.id is required unless"):
        load_config(write(tmp_path, '[device]\nrole = "router"\n[mqtt]\nhost = "h"\n'), env={})
    with pytest.raises(ConfigError, match="mqtt.host is required"):
        load_config(write(tmp_path, '[device]\nrole = "router"\nid = "rt-0001"\n'), env={})


def test_enrollment_replaces_device_id_and_host_but_needs_a_serial(tmp_path: Path) -> None:
    text = '[device]\nrole = "stb"\n[enrollment]\ncontroller_url = "http://127.0.0.1:9"\ntoken = "t"\n'
    with pytest.raises(ConfigError, match="serial"):
        load_config(write(tmp_path, text), env={})
    cfg = load_config(write(tmp_path, text), env={"AGENT_DEVICE_SERIAL": "SN1"})
    assert cfg.enrollment.configured
    assert cfg.device.id == ""


def test_enrollment_url_must_be_http(tmp_path: Path) -> None:
    text = MINIMAL + '[enrollment]\ncontroller_url = "file:///etc/passwd"\ntoken = "t"\nserial = "s"\n'
    with pytest.raises(ConfigError, match=r"must be http\(s\)://"):
        load_config(write(tmp_path, text), env={})


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml", env={})
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(write(tmp_path, "[device\n"), env={})


def test_env_alone_is_enough(tmp_path: Path) -> None:
    env = {"AGENT_DEVICE_ID": "rt-0002", "AGENT_DEVICE_ROLE": "router", "AGENT_MQTT_HOST": "10.0.0.1"}
    cfg = load_config(None, env=env)
    assert (cfg.device.id, cfg.device.role, cfg.mqtt.host) == ("rt-0002", "router", "10.0.0.1")


def test_example_config_in_the_repository_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "agent" / "agent.example.toml"
    cfg = load_config(example, env={"AGENT_MQTT_CA_FILE": ""})  # the example's CA path exists only on devices
    assert (cfg.device.role, cfg.mqtt.tls, cfg.enrollment.configured) == ("stb", True, True)
    assert cfg.commands.reboot_command == ("systemctl", "reboot")


def test_enrollment_retry_settings_have_seconds_defaults_and_are_checked(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), env={})
    e = cfg.enrollment
    assert (e.timeout_s, e.retry_min_s, e.retry_max_s, e.retry_after_max_s) == (10.0, 1.0, 300.0, 3600.0)
    env = {"AGENT_ENROLLMENT_RETRY_MAX_S": "7200"}  # above retry_after_max_s: the cap would never apply
    with pytest.raises(ConfigError, match="retry_max_s <= retry_after_max_s"):
        load_config(write(tmp_path, MINIMAL), env=env)
