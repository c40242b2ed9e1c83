"""Enrollment exchange (HTTPS ``POST /api/v1/enroll``): a one-time token for per-device credentials."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

from . import fields as f

ENROLL_PATH = "/api/v1/enroll"


@dataclass(frozen=True)
class EnrollRequest:
    serial: str
    token: str
    agent_version: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> EnrollRequest:
        d = f.obj(data, "enroll")
        return cls(
            serial=f.text(d, "serial", "enroll", 128),
            token=f.text(d, "token", "enroll", 128),
            agent_version=f.opt_text(d, "agent_version", "enroll", 64) or "",
        )


@dataclass(frozen=True)
class EnrollResponse:
    """What a device keeps in its state directory after enrolling; the password is shown once."""

    device_id: str
    role: str
    mqtt_host: str
    mqtt_port: int
    mqtt_username: str
    mqtt_password: str
    mqtt_tls: bool = False
    controller_url: str = ""
    station_id: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> EnrollResponse:
        d = f.obj(data, "enrolled")
        w = "enrolled"
        station = d.get("station_id")
        return cls(
            device_id=f.text(d, "device_id", w, 64),
            role=f.text(d, "role", w, 16),
            mqtt_host=f.text(d, "mqtt_host", w),
            mqtt_port=f.integer(d, "mqtt_port", w, 1),
            mqtt_username=f.text(d, "mqtt_username", w, 64),
            mqtt_password=f.text(d, "mqtt_password", w, 256),
            mqtt_tls=bool(d.get("mqtt_tls", False)),
            controller_url=f.opt_text(d, "controller_url", w) or "",
            station_id=station if isinstance(station, int) and not isinstance(station, bool) else None,
        )
