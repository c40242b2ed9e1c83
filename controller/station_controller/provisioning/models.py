"""Provisioning tables: encrypted secrets and how to reach a device over SSH."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class ProvisioningSecret(Base):
    """An SSH private key or a device password, Fernet-encrypted; never returned in full."""

    __tablename__ = "provisioning_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # password | ssh_key
    ciphertext: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))  # first hex digits of SHA-256 of the value
    hint: Mapped[str] = mapped_column(String(64))  # "****xy" or the key type
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProvisioningTarget(Base):
    """How the controller reaches a device over SSH; secrets are referenced by name."""

    __tablename__ = "provisioning_targets"

    device_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=22)
    username: Mapped[str | None] = mapped_column(String(64))
    password_secret: Mapped[str | None] = mapped_column(String(128))
    key_secret: Mapped[str | None] = mapped_column(String(128))
    profile: Mapped[str | None] = mapped_column(String(32))  # netmiko device_type; None: Linux + agent
    vars: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
