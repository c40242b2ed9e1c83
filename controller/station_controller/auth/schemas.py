"""API shapes of staff auth: login, the current user, staff user management."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..api.types import UtcDateTime

Role = Literal["viewer", "operator", "admin", "auditor"]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: str
    disabled: bool
    created_at: UtcDateTime


class LoginResponse(BaseModel):
    token: str = Field(
        description="send as 'Authorization: Bearer <token>'; also set as the sf_session cookie"
    )
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: UtcDateTime
    user: StaffOut


class StaffCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=12, max_length=256)
    role: Role


class StaffUpdate(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=256)
