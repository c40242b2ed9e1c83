"""Request and response bodies of the jobs API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...api.types import UtcDateTime


class SelectorIn(BaseModel):
    region: str | None = None
    tags: list[str] = []
    role: str | None = None
    station: str | None = None
    device_ids: list[str] = []


class JobIn(BaseModel):
    action: str
    selector: SelectorIn
    params: dict[str, Any] = {}
    dry_run: bool = False
    concurrency: int | None = Field(default=None, ge=1)


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    params: dict[str, Any]
    selector: dict[str, Any]
    dry_run: bool
    concurrency: int
    status: str
    retry_of: int | None
    created_by: str
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    counts: dict[str, int] = {}


class JobDeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    status: str
    reason: str
    diff: str
    data: dict[str, Any] | None
    attempt: int
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class JobDetail(JobOut):
    devices: list[JobDeviceOut]


class LogLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: str | None
    at: UtcDateTime
    line: str
