"""Firmware tables: pinned firmware keys, releases, each device's update state and its update history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class FirmwareKey(Base):
    """A pinned ed25519 firmware public key (role ``firmware``); the private half never reaches us.

    Separate from ``content_keys``: a content key is never looked up here, so it cannot verify firmware.
    """

    __tablename__ = "firmware_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    label: Mapped[str] = mapped_column(String(128), default="")
    added_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FirmwareRelease(Base):
    """One signed release (``<kind>-<version>``); the signed document and files live in the store."""

    __tablename__ = "firmware_releases"
    __table_args__ = (Index("ix_firmware_releases_kind_version", "kind", "version_key"),)

    release_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # agent | os
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(40))
    version_key: Mapped[str] = mapped_column(String(48))  # zero-padded parts: sorts like the version
    rollback_of: Mapped[str | None] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(16))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_sha256: Mapped[str] = mapped_column(String(64))
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # manifest created_ms
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str] = mapped_column(Text, default="")


class FirmwareDeviceState(Base):
    """The latest ``firmware.progress`` of a device: its current (or last) update job and state.

    ``state_since`` is when the device entered ``state``; the stuck sweep compares it with the state's
    deadline and sets ``stuck_at`` (cleared by the next state change).
    """

    __tablename__ = "firmware_device_state"
    __table_args__ = (Index("ix_firmware_device_state_state", "state", "state_since"),)

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    version: Mapped[str] = mapped_column(String(40))
    from_version: Mapped[str | None] = mapped_column(String(40))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(1024), default="")
    slot: Mapped[str | None] = mapped_column(String(64))
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    state_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stuck_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FirmwareUpdateEvent(Base):
    """History: one row per state a device's update entered (plus ``stuck`` marks from the sweep)."""

    __tablename__ = "firmware_update_events"
    __table_args__ = (Index("ix_firmware_update_events_device", "device_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(40))
    from_version: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(1024), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
