"""Request and response bodies of the config API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...api.types import UtcDateTime


class DraftIn(BaseModel):
    message: str = Field("", max_length=500)


class ItemIn(BaseModel):
    kind: str = Field(pattern="^(template|variable)$")
    name: str = Field(min_length=1, max_length=64)
    scope: str = Field("global", pattern="^(global|region|station|device)$")
    scope_key: str = Field("", max_length=512)
    value: Any = None
    delete: bool = False


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    scope: str
    scope_key: str
    name: str
    value: str
    deleted: bool


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    seq: int | None
    message: str
    created_by: str
    created_at: UtcDateTime
    published_by: str | None
    published_at: UtcDateTime | None


class RevisionDetail(RevisionOut):
    items: list[ItemOut]


class DeviceDiff(BaseModel):
    device_id: str
    station_code: str
    diff: str
    error: str


class RouterView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    station_code: str
    station_id: int
    profile: str
    state: str
    applied_seq: int | None
    desired_seq: int
    detail: str
    checked_at: UtcDateTime | None


class FleetOut(BaseModel):
    summary: dict[str, int]
    total: int
    routers: list[RouterView]


class BackupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: str
    taken_at: UtcDateTime
    reason: str
    sha256: str
    good: bool
    revision_seq: int | None
    job_id: int | None


class BackupDetail(BackupOut):
    content: str


class RenderedOut(BaseModel):
    device_id: str
    seq: int
    draft_id: int | None
    template: str
    fragment: str
