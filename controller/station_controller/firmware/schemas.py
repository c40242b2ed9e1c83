"""API shapes of firmware: releases, keys, device views, history, distribution, campaign progress."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..api.types import UtcDateTime


class ReleaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    release_id: str
    kind: str
    name: str
    version: str
    state: str  # incomplete | ready | retired
    missing: list[str]
    key_id: str
    created_ms: int
    expires_ms: int
    rollback_of: str | None
    total_bytes: int
    file_count: int
    notes: str
    compatibility: dict[str, Any]
    uploaded_by: str | None
    uploaded_at: UtcDateTime
    retired_at: UtcDateTime | None


class ReleaseList(BaseModel):
    releases: list[ReleaseOut]


class KeyIn(BaseModel):
    public_key: str = Field(min_length=40, max_length=64, description="base64 of the raw 32-byte key")
    label: str = Field(default="", max_length=128)


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: str
    public_key: str
    label: str
    added_by: str | None
    created_at: UtcDateTime
    retired_at: UtcDateTime | None


class DeviceFirmwareOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    role: str
    station: str
    region_path: str
    online: bool
    agent_version: str | None
    agent_slot: str | None
    os_version: str | None
    os_slot: str | None
    last_update: dict[str, Any] | None
    state: str | None
    release_id: str | None
    reason: str | None
    detail: str | None
    state_since: UtcDateTime | None
    stuck_at: UtcDateTime | None


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    job_id: str
    release_id: str
    version: str
    from_version: str | None
    state: str
    reason: str | None
    detail: str
    at: UtcDateTime


class DeviceDetailOut(BaseModel):
    device: DeviceFirmwareOut
    history: list[HistoryOut]


class StuckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    release_id: str
    state: str
    state_since: UtcDateTime
    stuck_at: UtcDateTime | None


class CampaignDeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    station: str
    region_path: str
    wave: int
    campaign_state: str
    state: str
    reason: str | None
    detail: str | None
    bytes_done: int
    bytes_total: int | None
    updated_at: UtcDateTime | None


class CampaignProgressOut(BaseModel):
    campaign_id: int
    campaign_state: str
    counts: dict[str, int]
    devices: list[CampaignDeviceOut]
