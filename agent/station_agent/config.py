"""Typed agent settings: TOML file, ``AGENT_*`` env vars, CLI overrides (CLI > env > file > default)."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Type, TypeVar, get_type_hints

from station_protocol.topics import is_valid_device_id

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9/3.10 devices
    import tomli as tomllib

ENV_PREFIX = "AGENT_"
ROLES = ("stb", "router")
MIB = 1024 * 1024
# One protocol message may be up to 64 KiB; a smaller outbox could never hold it.
MIN_OUTBOX_BYTES = 65536


@dataclass(frozen=True)
class DeviceSettings:
    id: str = ""
    role: str = ""
    serial: str = ""


@dataclass(frozen=True)
class MqttSettings:
    host: str = ""  # empty: the host the controller told us at enrollment
    port: int = 0  # 0: the enrolled port, else 8883 with TLS / 1883 without
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    keepalive: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    session_expiry_s: int = 7 * 24 * 3600  # broker keeps our commands this long while we are offline
    connect_timeout_s: float = 10.0


@dataclass(frozen=True)
class EnrollmentSettings:
    controller_url: str = ""
    token: str = ""
    serial: str = ""
    timeout_s: float = 10.0  # per request
    retry_min_s: float = 1.0  # first backoff step; doubles per failed attempt (full jitter)
    retry_max_s: float = 300.0  # backoff ceiling without a Retry-After
    retry_after_max_s: float = 3600.0  # longest wait a server's Retry-After (or any delay) may impose

    @property
    def configured(self) -> bool:
        return bool(self.controller_url and self.token)


@dataclass(frozen=True)
class TelemetrySettings:
    interval_s: float = 30.0
    content_path: str = "/"
    interfaces: Optional[Tuple[str, ...]] = None  # None: every interface except loopback


@dataclass(frozen=True)
class OutboxSettings:
    max_messages: int = 50000
    max_bytes: int = 64 * MIB
    batch: int = 100
    ack_timeout_s: float = 30.0


@dataclass(frozen=True)
class CommandSettings:
    default_timeout_s: float = 30.0
    max_timeout_s: float = 600.0
    reboot_dry_run: bool = False
    reboot_command: Tuple[str, ...] = ("systemctl", "reboot")
    applied_ids_kept: int = 10000


@dataclass(frozen=True)
class GatewaySettings:
    """Router role only: local settings of the portal gateway (the portal itself is desired config)."""

    check_interval_s: float = 5.0  # read nft counters, enforce expiry / quota / idle
    accounting_interval_s: float = 60.0  # portal.accounting events while sessions exist
    ifb_device: str = "sfifb0"  # created for upload shaping (LAN ingress)
    default_kbit: int = 1_000_000  # rate of the root class for unclassified traffic
    dnsmasq_snippet: str = ""  # e.g. /etc/dnsmasq.d/station-portal.conf for DHCP option 114; "" = off
    tool_timeout_s: float = 15.0  # per nft / tc / ip invocation


@dataclass(frozen=True)
class AgentConfig:
    device: DeviceSettings = field(default_factory=DeviceSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    enrollment: EnrollmentSettings = field(default_factory=EnrollmentSettings)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    commands: CommandSettings = field(default_factory=CommandSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    state_dir: Path = Path("/var/lib/station-agent")


SECTIONS: Dict[str, Type[Any]] = {
    "device": DeviceSettings,
    "mqtt": MqttSettings,
    "enrollment": EnrollmentSettings,
    "telemetry": TelemetrySettings,
    "outbox": OutboxSettings,
    "commands": CommandSettings,
    "gateway": GatewaySettings,
}
T = TypeVar("T")
Raw = Dict[str, Dict[str, Tuple[Any, str]]]  # section -> key -> (value, where it came from)


def load_config(
    path: Optional[Path],
    *,
    env: Optional[Mapping[str, str]] = None,
    overrides: Optional[Mapping[str, str]] = None,
) -> AgentConfig:
    """Load, merge and validate the agent settings.

    ``overrides`` are CLI ``section.key=value`` pairs (``state_dir`` for the top-level key).

    Raises:
        ConfigError: a file, key or value is wrong; the message names it and its source.
    """
    raw: Raw = {name: {} for name in SECTIONS}
    raw[""] = {}
    if path is not None:
        _merge_file(raw, path)
    _merge_env(raw, env or {})
    for key, value in (overrides or {}).items():
        section, _, name = key.rpartition(".")
        _put(raw, section, name, value, f"--set {key}")
    return _build(raw)


def _merge_file(raw: Raw, path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}; pass an existing --config"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    for key, value in data.items():
        if isinstance(value, dict):
            for name, item in value.items():
                _put(raw, key, name, item, str(path))
        else:
            _put(raw, "", key, value, str(path))


def _merge_env(raw: Raw, env: Mapping[str, str]) -> None:
    known = {f"{ENV_PREFIX}STATE_DIR": ("", "state_dir")}
    for section, cls in SECTIONS.items():
        for fld in dataclasses.fields(cls):
            known[f"{ENV_PREFIX}{section.upper()}_{fld.name.upper()}"] = (section, fld.name)
    for var, value in env.items():
        if var in known:
            section, name = known[var]
            _put(raw, section, name, value, f"env {var}")


def _put(raw: Raw, section: str, name: str, value: Any, where: str) -> None:
    if section not in raw:
        raise ConfigError(f"{where}: unknown section [{section}]; known: {sorted(SECTIONS)}")
    allowed = {"state_dir"} if section == "" else {f.name for f in dataclasses.fields(SECTIONS[section])}
    if name not in allowed:
        label = f"{section}.{name}" if section else name
        raise ConfigError(f"{where}: unknown key {label!r}; known keys: {sorted(allowed)}")
    raw[section][name] = (value, where)


def _build(raw: Raw) -> AgentConfig:
    sections = {name: _section(cls, name, raw[name]) for name, cls in SECTIONS.items()}
    state_dir = Path("/var/lib/station-agent")
    if "state_dir" in raw[""]:
        value, where = raw[""]["state_dir"]
        state_dir = Path(_coerce(str, value, "state_dir", where))
    cfg = AgentConfig(state_dir=state_dir, **sections)
    validate(cfg)
    return cfg


def _section(cls: Type[T], name: str, values: Dict[str, Tuple[Any, str]]) -> T:
    hints = get_type_hints(cls)
    kwargs = {
        key: _coerce(hints[key], value, f"{name}.{key}", where) for key, (value, where) in values.items()
    }
    return cls(**kwargs)


def _coerce(kind: Any, value: Any, label: str, where: str) -> Any:
    """Turn a TOML value or an env/CLI string into ``kind``; strings are parsed, TOML types checked."""
    if kind == Optional[Tuple[str, ...]] or kind == Tuple[str, ...]:
        return _coerce_list(value, label, where)
    base = kind if isinstance(kind, type) else str
    try:
        if isinstance(value, str) and base is not str:
            return _parse_text(base, value)
        if base is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is base:
            return value
    except ValueError:
        pass
    raise ConfigError(f"{where}: {label} must be {base.__name__}, got {value!r}")


def _parse_text(base: type, value: str) -> Any:
    if base is bool:
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    return base(value.strip())


def _coerce_list(value: Any, label: str, where: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        # Env/CLI: "eth0,wlan0" for interface lists, a shell-like line for commands.
        return (
            tuple(shlex.split(value))
            if label.endswith("_command")
            else tuple(item.strip() for item in value.split(",") if item.strip())
        )
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(f"{where}: {label} must be a list of strings, got {value!r}")


def validate(cfg: AgentConfig) -> None:
    """Cross-field checks; every failure says which key to fix."""
    _validate_identity(cfg)
    _validate_mqtt(cfg.mqtt)
    _validate_enrollment_retry(cfg.enrollment)
    _check(cfg.telemetry.interval_s >= 1.0, "telemetry.interval_s must be >= 1")
    _check(cfg.outbox.max_messages >= 10, "outbox.max_messages must be >= 10")
    _check(cfg.outbox.max_bytes >= MIN_OUTBOX_BYTES, f"outbox.max_bytes must be >= {MIN_OUTBOX_BYTES}")
    _check(1 <= cfg.outbox.batch <= 1000, "outbox.batch must be between 1 and 1000")
    _check(cfg.outbox.ack_timeout_s > 0, "outbox.ack_timeout_s must be > 0")
    _check(cfg.commands.default_timeout_s > 0, "commands.default_timeout_s must be > 0")
    _check(
        cfg.commands.max_timeout_s >= cfg.commands.default_timeout_s,
        "commands.max_timeout_s must be >= commands.default_timeout_s",
    )
    _check(bool(cfg.commands.reboot_command), "commands.reboot_command must not be empty")
    _validate_gateway(cfg.gateway)


def _validate_gateway(gw: GatewaySettings) -> None:
    _check(gw.check_interval_s >= 0.2, "gateway.check_interval_s must be >= 0.2")
    _check(gw.accounting_interval_s >= 1.0, "gateway.accounting_interval_s must be >= 1")
    _check(gw.default_kbit >= 1, "gateway.default_kbit must be >= 1")
    _check(gw.tool_timeout_s > 0, "gateway.tool_timeout_s must be > 0")
    _check(
        1 <= len(gw.ifb_device) <= 15 and gw.ifb_device.replace("-", "").replace("_", "").isalnum(),
        f"gateway.ifb_device must be an interface name ([A-Za-z0-9_-], <= 15), got {gw.ifb_device!r}",
    )


def _validate_identity(cfg: AgentConfig) -> None:
    _check(cfg.device.role in ROLES, f"device.role must be one of {list(ROLES)}, got {cfg.device.role!r}")
    if cfg.device.id:
        _check(
            is_valid_device_id(cfg.device.id),
            f"device.id {cfg.device.id!r} is not a valid id ([a-z0-9-], 3-64)",
        )
    enrolled = cfg.enrollment.configured
    if not enrolled:
        _check(
            bool(cfg.device.id), "device.id is required unless [enrollment] controller_url and token are set"
        )
        _check(bool(cfg.mqtt.host), "mqtt.host is required unless [enrollment] is configured")
    if cfg.enrollment.controller_url:
        url = cfg.enrollment.controller_url
        _check(
            url.startswith(("http://", "https://")),
            f"enrollment.controller_url must be http(s)://, got {url!r}",
        )
        _check(bool(cfg.enrollment.token), "enrollment.token is required with enrollment.controller_url")
        _check(
            bool(cfg.enrollment.serial or cfg.device.serial), "enrollment.serial or device.serial is required"
        )


def _validate_enrollment_retry(e: EnrollmentSettings) -> None:
    _check(e.timeout_s > 0, "enrollment.timeout_s must be > 0")
    _check(
        0 < e.retry_min_s <= e.retry_max_s <= e.retry_after_max_s,
        "need 0 < enrollment.retry_min_s <= retry_max_s <= retry_after_max_s",
    )


def _validate_mqtt(mqtt: MqttSettings) -> None:
    _check(0 <= mqtt.port <= 65535, f"mqtt.port must be 1-65535, got {mqtt.port}")
    _check(mqtt.keepalive >= 5, "mqtt.keepalive must be >= 5 seconds")
    _check(
        0 < mqtt.reconnect_min_s <= mqtt.reconnect_max_s, "need 0 < mqtt.reconnect_min_s <= reconnect_max_s"
    )
    _check(not mqtt.ca_file or mqtt.tls, "mqtt.ca_file is set but mqtt.tls is false; set tls = true")
    if mqtt.ca_file:
        _check(Path(mqtt.ca_file).is_file(), f"mqtt.ca_file {mqtt.ca_file!r} does not exist")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
