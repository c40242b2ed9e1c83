"""API shapes of the registry: stations, devices, regions, tags, CSV import results."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..api.types import UtcDateTime
from ..redact import redact_desired_config
from .bounded import bounded_json, clean_text
from .models import Device, Station


class StationCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    region_path: str = Field(min_length=1, max_length=512, examples=["河南省/南阳市/唐河县/城郊乡/王庄村"])
    tags: list[str] = Field(default_factory=list, max_length=32)


class DeviceCreate(BaseModel):
    station_code: str = Field(min_length=1, max_length=64)
    role: Literal["stb", "router"]
    serial: str = Field(min_length=1, max_length=128)
    mac: str | None = None


class DeviceBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    role: str
    serial: str
    status: str
    online: bool
    last_seen_at: UtcDateTime | None
    agent_version: str | None

    @field_validator("agent_version", mode="before")
    @classmethod
    def _device_text(cls, value: Any) -> Any:
        # Device-supplied: whatever got stored must render (no lone surrogates in a JSON answer).
        return clean_text(value) if isinstance(value, str) else value


class DeviceOut(DeviceBrief):
    station_code: str
    mac: str | None
    region_path: str
    enrolled_at: UtcDateTime | None
    revoked_at: UtcDateTime | None
    token_expires_at: UtcDateTime | None
    boot_id: str | None
    hardware: dict[str, Any] | None
    capabilities: list[str] | None
    latest: dict[str, Any] | None
    latest_at: UtcDateTime | None
    rx_bps: float | None
    tx_bps: float | None
    desired_config_version: int
    desired_config: dict[str, Any] | None
    reported_config_version: int

    @field_validator("boot_id", mode="before")
    @classmethod
    def _boot_id(cls, value: Any) -> Any:
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("hardware", "latest", mode="before")
    @classmethod
    def _device_json(cls, value: Any) -> Any:
        # Device-supplied JSON as stored: too deep for the serialiser, NaN or odd text must not turn
        # every page listing this device into a 500.
        return bounded_json(value) if isinstance(value, dict) else None

    @field_validator("capabilities", mode="before")
    @classmethod
    def _capabilities(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return None
        return [clean_text(str(item), 64) for item in value[:64] if isinstance(item, (str, int, float))]

    @field_validator("rx_bps", "tx_bps", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        return value if isinstance(value, (int, float)) and math.isfinite(value) else None

    @classmethod
    def of(cls, device: Device, station_code: str) -> DeviceOut:
        data = {name: getattr(device, name) for name in cls.model_fields if name != "station_code"}
        data["desired_config"] = redact_desired_config(data["desired_config"])  # no gateway keys
        return cls(station_code=station_code, **data)


class DeviceWithToken(BaseModel):
    """Returned once when a device is registered or its token re-issued; the token is not stored."""

    device: DeviceOut
    token: str
    token_expires_at: UtcDateTime


class StationOut(BaseModel):
    id: int
    code: str
    name: str
    region_path: str
    tags: list[str]
    created_at: UtcDateTime
    devices: list[DeviceBrief]

    @classmethod
    def of(cls, station: Station) -> StationOut:
        return cls(
            id=station.id,
            code=station.code,
            name=station.name,
            region_path=station.region.path,
            tags=sorted(t.name for t in station.tags),
            created_at=station.created_at,
            devices=[DeviceBrief.model_validate(d) for d in sorted(station.devices, key=lambda d: d.id)],
        )


class DevicePage(BaseModel):
    items: list[DeviceOut]
    total: int
    next_after: str | None = Field(description="pass as ?after= for the next page; null on the last page")


class StationPage(BaseModel):
    items: list[StationOut]
    total: int
    next_after: str | None


class RegionNode(BaseModel):
    id: int
    name: str
    path: str
    children: list[RegionNode]


class TagOut(BaseModel):
    name: str
    stations: int


class ImportedDevice(BaseModel):
    line: int
    station_code: str
    device_id: str
    serial: str
    token: str
    token_expires_at: UtcDateTime


class ImportResult(BaseModel):
    stations_created: int
    devices: list[ImportedDevice]
