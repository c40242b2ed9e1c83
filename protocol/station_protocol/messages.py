"""Message bodies of protocol v1, one frozen dataclass per kind, with strict ``from_body``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any, Dict, Optional, Tuple, Union

from . import bounds as b
from . import fields as f
from .errors import MalformedMessage, TooManyItems
from .topics import Channel

MAX_INTERFACES = 32
MAX_CAPABILITIES = 64
# Numeric ranges of telemetry (docs/protocol.md, "Bounds"): physical limits with a wide margin, so a
# real device never hits them and a broken or hostile one cannot store nonsense.
MAX_INTERVAL_S = 86_400.0
MAX_LOAD = 1e6
MAX_UPTIME_S = 3.2e9  # ~100 years
MIN_TEMP_C, MAX_TEMP_C = -100.0, 200.0  # the agent drops sensor readings outside the same range
MAX_BPS = 1e12  # 1 Tbit/s
MAX_TIMEOUT_S = 86_400.0


class Kind(str, Enum):
    BIRTH = "birth"
    DEATH = "death"
    TELEMETRY = "telemetry"
    EVENT = "event"
    COMMAND = "command"
    RESULT = "result"
    CONFIG_DESIRED = "config_desired"
    CONFIG_REPORTED = "config_reported"


CHANNEL_OF_KIND = {
    Kind.BIRTH: Channel.STATE,
    Kind.DEATH: Channel.STATE,
    Kind.TELEMETRY: Channel.TELEMETRY,
    Kind.EVENT: Channel.EVENT,
    Kind.COMMAND: Channel.CMD,
    Kind.RESULT: Channel.RESULT,
    Kind.CONFIG_DESIRED: Channel.CONFIG_DESIRED,
    Kind.CONFIG_REPORTED: Channel.CONFIG_REPORTED,
}

ROLES = frozenset({"stb", "router"})
SEVERITIES = frozenset({"info", "warning", "error", "critical"})
RESULT_STATUSES = frozenset({"ok", "failed", "already_applied", "expired", "timeout", "rejected"})
CONFIG_STATUSES = frozenset({"applied", "rejected"})
AB_SLOTS = frozenset({"a", "b"})
BIRTH_OMIT_NONE = ("agent_slot", "os_version", "os_slot", "last_update")


def _plain(value: Any) -> Any:
    """asdict() keeps tuples; JSON wants lists, so normalise for stable golden fixtures."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Birth:
    """Retained on ``state`` when a session starts; ``session`` matches the will's."""

    agent_version: str
    role: str
    boot_id: str
    session: int
    capabilities: Tuple[str, ...] = ()
    hardware: Dict[str, Any] = field(default_factory=dict)
    config_version: int = 0
    # Firmware state (docs/firmware.md); optional and left out of the encoding when None, so older
    # decoders and the golden birth without them stay valid. agent_version is the installed agent.
    agent_slot: Optional[str] = None
    os_version: Optional[str] = None
    os_slot: Optional[str] = None
    last_update: Optional[Dict[str, Any]] = None  # station_protocol.firmware.LastUpdate fields

    @classmethod
    def from_body(cls, body: f.JsonObject) -> Birth:
        w = "body"
        return cls(
            agent_version=f.token(body, "agent_version", w, 64),
            role=f.choice(body, "role", w, ROLES),
            boot_id=f.token(body, "boot_id", w, 64),
            session=f.integer(body, "session", w, 0, b.INT32_MAX),
            capabilities=f.text_list(body, "capabilities", w, MAX_CAPABILITIES),
            hardware=f.mapping(body, "hardware", w, b.HARDWARE),
            config_version=f.integer(body, "config_version", w, 0, b.INT32_MAX),
            agent_slot=None if body.get("agent_slot") is None else f.choice(body, "agent_slot", w, AB_SLOTS),
            os_version=None if body.get("os_version") is None else f.token(body, "os_version", w, 64),
            os_slot=None if body.get("os_slot") is None else f.token(body, "os_slot", w, 64),
            last_update=None
            if body.get("last_update") is None
            else f.mapping(body, "last_update", w, b.DETAIL),
        )


@dataclass(frozen=True)
class Death:
    """Retained on ``state``: the last will (graceful=false) or a clean shutdown (true)."""

    session: int
    graceful: bool = False

    @classmethod
    def from_body(cls, body: f.JsonObject) -> Death:
        return cls(
            session=f.integer(body, "session", "body", 0, b.INT32_MAX),
            graceful=f.boolean(body, "graceful", "body"),
        )


_IFACE_FIELDS = frozenset({"name", "rx_bytes", "tx_bytes", "rx_bps", "tx_bps"})


@dataclass(frozen=True)
class InterfaceCounters:
    name: str
    rx_bytes: int
    tx_bytes: int
    rx_bps: float
    tx_bps: float

    @classmethod
    def from_body(cls, item: Any, where: str) -> InterfaceCounters:
        data = f.obj(item, where)
        b.check_ignored(data, _IFACE_FIELDS, where, 4)
        return cls(
            name=f.token(data, "name", where, 32),
            rx_bytes=f.integer(data, "rx_bytes", where, 0, b.SAFE_INT_MAX),
            tx_bytes=f.integer(data, "tx_bytes", where, 0, b.SAFE_INT_MAX),
            rx_bps=f.number(data, "rx_bps", where, 0.0, MAX_BPS),
            tx_bps=f.number(data, "tx_bps", where, 0.0, MAX_BPS),
        )


@dataclass(frozen=True)
class Telemetry:
    """One periodic sample. ``seq`` increases per sample and survives restarts."""

    seq: int
    interval_s: float
    cpu_pct: float
    load1: float
    mem_total: int
    mem_used: int
    disk_total: int
    disk_used: int
    uptime_s: float
    temp_c: Optional[float] = None
    queue_depth: int = 0
    queue_dropped: int = 0
    interfaces: Tuple[InterfaceCounters, ...] = ()

    @classmethod
    def from_body(cls, body: f.JsonObject) -> Telemetry:
        w = "body"
        raw = body.get("interfaces", [])
        if not isinstance(raw, list):
            raise MalformedMessage(f"{w}.interfaces: expected a list of at most {MAX_INTERFACES}")
        if len(raw) > MAX_INTERFACES:
            raise TooManyItems(f"{w}.interfaces: {len(raw)} elements; at most {MAX_INTERFACES}")
        safe = b.SAFE_INT_MAX
        return cls(
            seq=f.integer(body, "seq", w, 0, safe),
            interval_s=f.number(body, "interval_s", w, 0.0, MAX_INTERVAL_S),
            cpu_pct=f.number(body, "cpu_pct", w, 0.0, 100.0),
            load1=f.number(body, "load1", w, 0.0, MAX_LOAD),
            mem_total=f.integer(body, "mem_total", w, 0, safe),
            mem_used=f.integer(body, "mem_used", w, 0, safe),
            disk_total=f.integer(body, "disk_total", w, 0, safe),
            disk_used=f.integer(body, "disk_used", w, 0, safe),
            uptime_s=f.number(body, "uptime_s", w, 0.0, MAX_UPTIME_S),
            temp_c=f.opt_number(body, "temp_c", w, MIN_TEMP_C, MAX_TEMP_C),
            queue_depth=f.integer(body, "queue_depth", w, 0, safe) if "queue_depth" in body else 0,
            queue_dropped=f.integer(body, "queue_dropped", w, 0, safe) if "queue_dropped" in body else 0,
            interfaces=tuple(
                InterfaceCounters.from_body(item, f"{w}.interfaces[{i}]") for i, item in enumerate(raw)
            ),
        )


@dataclass(frozen=True)
class Event:
    name: str
    severity: str = "info"
    detail: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: f.JsonObject) -> Event:
        w = "body"
        return cls(
            name=f.token(body, "name", w, 64),
            severity=f.choice(body, "severity", w, SEVERITIES),
            detail=f.mapping(body, "detail", w, b.DETAIL),
        )


@dataclass(frozen=True)
class Command:
    """Controller → device. The envelope id is the command id; stale after ``expires_at`` (ms)."""

    name: str
    expires_at: int
    timeout_s: float = 30.0
    args: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: f.JsonObject) -> Command:
        w = "body"
        return cls(
            name=f.token(body, "name", w, 64),
            expires_at=f.integer(body, "expires_at", w, 0, b.MAX_TS_MS),
            timeout_s=f.number(body, "timeout_s", w, 0.0, MAX_TIMEOUT_S),
            args=f.mapping(body, "args", w, b.ARGS),
        )


@dataclass(frozen=True)
class Result:
    """Device → controller answer to one command id."""

    command_id: str
    status: str
    output: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None

    @classmethod
    def from_body(cls, body: f.JsonObject) -> Result:
        w = "body"
        return cls(
            command_id=f.token(body, "command_id", w, 64),
            status=f.choice(body, "status", w, RESULT_STATUSES),
            output=f.mapping(body, "output", w, b.OUTPUT),
            error=f.opt_text(body, "error", w),
        )


@dataclass(frozen=True)
class ConfigDesired:
    """Retained on ``config/desired``; versions only grow."""

    version: int
    config: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: f.JsonObject) -> ConfigDesired:
        return cls(
            version=f.integer(body, "version", "body", 0, b.INT32_MAX),
            config=f.mapping(body, "config", "body", b.CONFIG),
        )


@dataclass(frozen=True)
class ConfigReported:
    version: int
    status: str
    error: Optional[str] = None

    @classmethod
    def from_body(cls, body: f.JsonObject) -> ConfigReported:
        w = "body"
        return cls(
            version=f.integer(body, "version", w, 0, b.INT32_MAX),
            status=f.choice(body, "status", w, CONFIG_STATUSES),
            error=f.opt_text(body, "error", w),
        )


Body = Union[Birth, Death, Telemetry, Event, Command, Result, ConfigDesired, ConfigReported]

BODY_TYPES: Dict[Kind, Any] = {
    Kind.BIRTH: Birth,
    Kind.DEATH: Death,
    Kind.TELEMETRY: Telemetry,
    Kind.EVENT: Event,
    Kind.COMMAND: Command,
    Kind.RESULT: Result,
    Kind.CONFIG_DESIRED: ConfigDesired,
    Kind.CONFIG_REPORTED: ConfigReported,
}
KIND_OF_TYPE = {t: k for k, t in BODY_TYPES.items()}
# The keys each body's decoder reads; any other key is ignored but still bounded (bounds.check_ignored).
BODY_KEYS = {k: frozenset(fld.name for fld in fields(t)) for k, t in BODY_TYPES.items()}


def body_to_dict(body: Body) -> Dict[str, Any]:
    """Plain JSON-ready dict of a message body."""
    out: Dict[str, Any] = _plain(asdict(body))
    if isinstance(body, Birth):
        for key in BIRTH_OMIT_NONE:
            if out.get(key) is None:
                out.pop(key, None)
    return out
