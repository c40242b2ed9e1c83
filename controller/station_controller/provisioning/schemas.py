"""Request and response bodies of the secrets, targets and inventory API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr


class SecretIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    kind: str
    value: SecretStr  # SecretStr: never echoed by validation errors or repr


class SecretOut(BaseModel):
    name: str
    kind: str
    fingerprint: str
    hint: str


class TargetBody(BaseModel):
    host: str
    port: int = 22
    username: str | None = None
    password_secret: str | None = None
    key_secret: str | None = None
    profile: str | None = None
    vars: dict[str, Any] = {}


class TargetOut(TargetBody):
    device_id: str
