"""API shapes of commands and desired config."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from station_protocol import commands as names

from ..api.types import UtcDateTime


class CommandCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=[names.PING])
    args: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(
        default=None, gt=0, le=600, description="default: settings.command_timeout_s"
    )


class CommandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    device_id: str
    name: str
    args: dict[str, Any]
    status: str = Field(
        description="queued | sent | ok | failed | already_applied | expired | timeout | rejected"
    )
    output: dict[str, Any] | None
    error: str | None
    created_by: str | None
    created_at: UtcDateTime
    expires_at: UtcDateTime
    timeout_s: float
    finished_at: UtcDateTime | None


class CommandPage(BaseModel):
    items: list[CommandOut]
    total: int


class ConfigPut(BaseModel):
    config: dict[str, Any]


class ConfigOut(BaseModel):
    device_id: str
    desired_config_version: int
    desired_config: dict[str, Any] | None
    reported_config_version: int
