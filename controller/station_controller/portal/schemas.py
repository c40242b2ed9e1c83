"""Request and response bodies of the portal staff API (``/api/v1/portal``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..api.types import UtcDateTime


class HotspotIn(BaseModel):
    enabled: bool = True
    lan_interface: str | None = Field(default=None, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    wan_interface: str | None = Field(default=None, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    splash_port: int | None = Field(default=None, ge=1, le=65535)
    trusted_macs: list[str] | None = None
    blocked_macs: list[str] | None = None


class HotspotOut(BaseModel):
    device_id: str
    station_code: str
    region_path: str
    online: bool
    enabled: bool
    lan_interface: str
    wan_interface: str
    splash_port: int
    trusted_macs: list[str]
    blocked_macs: list[str]
    active_sessions: int
    updated_at: UtcDateTime


class PolicyIn(BaseModel):
    """Null or absent fields inherit from the enclosing scope."""

    scope: str = Field(pattern=r"^(region|station|device)$")
    scope_key: str = Field(default="", max_length=512)
    session_s: int | None = Field(default=None, ge=60)
    idle_timeout_s: int | None = Field(default=None, ge=0)
    up_kbps: int | None = Field(default=None, ge=0)
    down_kbps: int | None = Field(default=None, ge=0)
    daily_quota_bytes: int | None = Field(default=None, ge=0)
    devices_per_phone: int | None = Field(default=None, ge=1)
    walled_garden: list[str] | None = None
    terms_version: str | None = Field(default=None, max_length=32)


class PolicyOut(PolicyIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    updated_at: UtcDateTime


class EffectivePolicyOut(BaseModel):
    session_s: int
    idle_timeout_s: int
    up_kbps: int
    down_kbps: int
    daily_quota_bytes: int
    devices_per_phone: int
    walled_garden: list[str]
    terms_version: str
    sources: dict[str, str]


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    gateway: str
    station_id: int | None
    phone: str | None
    voucher_id: int | None
    mac: str
    ip: str
    started_at: UtcDateTime
    expires_at: UtcDateTime
    idle_timeout_s: int
    up_kbps: int
    down_kbps: int
    quota_bytes: int
    bytes_up: int
    bytes_down: int
    last_activity_at: UtcDateTime | None
    status: str
    ended_at: UtcDateTime | None
    end_reason: str | None


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int


class ExtendIn(BaseModel):
    add_s: int = Field(default=24 * 3600, ge=60, le=30 * 86400)
    quota_bytes: int | None = Field(default=None, ge=0)


class BatchIn(BaseModel):
    count: int = Field(ge=1, le=1000)
    max_devices: int = Field(default=1, ge=1, le=100)
    duration_s: int = Field(default=24 * 3600, ge=60)
    up_kbps: int | None = Field(default=None, ge=0)
    down_kbps: int | None = Field(default=None, ge=0)
    quota_bytes: int = Field(default=0, ge=0)
    note: str = Field(default="", max_length=256)


class VoucherOut(BaseModel):
    code: str
    first_used_at: UtcDateTime | None
    expires_at: UtcDateTime | None
    devices: list[str]
    revoked: bool
    bytes_used: int


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    note: str
    count: int
    max_devices: int
    duration_s: int
    up_kbps: int | None
    down_kbps: int | None
    quota_bytes: int
    created_by: str | None
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class BatchDetail(BatchOut):
    used: int = 0
    vouchers: list[VoucherOut] = []


class GatewayKeyOut(BaseModel):
    device_id: str
    gateway_key: str


class GatewayIn(BaseModel):
    allowed_sources: list[str] = Field(min_length=1)
    # The gateway's own LAN (its GatewayAddress): where a login may send the phone back to. Empty →
    # allowed_sources (a routed LAN, where phones' browsers come from the LAN addresses themselves).
    lan_networks: list[str] = Field(default_factory=list, max_length=64)
    gw_port: int = Field(default=2060, ge=1, le=65535)  # the GatewayPort of wifidog.conf
    station_code: str | None = None
    name: str = Field(default="", max_length=128)


class GatewayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gw_id: str
    allowed_sources: list[str]
    lan_networks: list[str]
    gw_port: int
    station_id: int | None
    name: str
    created_at: UtcDateTime
    last_ping_at: UtcDateTime | None
    last_ping: dict[str, Any] | None


class StatRow(BaseModel):
    station_code: str
    day: str
    logins: int
    users: int
    devices: int
    bytes: int
