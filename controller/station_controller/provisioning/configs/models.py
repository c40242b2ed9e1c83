"""Config tables: revisions (drafts → published), their items, router backups, per-device config state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Base

KINDS = ("template", "variable")
SCOPES = ("global", "region", "station", "device")  # inheritance order, outermost first
STATUSES = ("draft", "published", "discarded")


class ConfigRevision(Base):
    """A change set: a draft until published; published ones are numbered by ``seq`` (1, 2, ...)."""

    __tablename__ = "config_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)  # set when published
    message: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConfigItem(Base):
    """One template body or variable value set (or deleted) by a revision; later published seq wins."""

    __tablename__ = "config_items"
    __table_args__ = (
        UniqueConstraint("revision_id", "kind", "scope", "scope_key", "name", name="uq_config_items_key"),
        Index("ix_config_items_lookup", "kind", "scope", "scope_key", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("config_revisions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # template | variable
    scope: Mapped[str] = mapped_column(String(16))  # global | region | station | device
    scope_key: Mapped[str] = mapped_column(
        String(512), default=""
    )  # "", region path, station code, device id
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text, default="")  # template text, or the variable as JSON
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class ConfigBackup(Base):
    """A router's running config as read at one moment (normalised text), with why it was read."""

    __tablename__ = "config_backups"
    __table_args__ = (Index("ix_config_backups_device_taken", "device_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # import | backup | pre-push | post-push | rollback | drift
    reason: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    good: Mapped[bool] = mapped_column(Boolean, default=False)  # a known-working config (rollback target)
    revision_seq: Mapped[int | None] = mapped_column(Integer)  # applied revision when it was taken
    job_id: Mapped[int | None] = mapped_column(Integer)


class DeviceConfigState(Base):
    """Where a router stands: applied revision, the snapshot drift is measured against, last check."""

    __tablename__ = "config_device_states"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    # baseline (imported, nothing pushed yet) | applied | drifted | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(String(1000), default="")
    applied_seq: Mapped[int | None] = mapped_column(Integer, index=True)
    applied_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of the rendered fragment pushed
    reference_backup_id: Mapped[int | None] = mapped_column(
        Integer
    )  # running config right after apply/import
    last_backup_id: Mapped[int | None] = mapped_column(Integer)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConfigDesired(Base):
    """A router's rendered config at the newest revision (hash only), stored when a revision is published.

    The fleet view compares it with ``DeviceConfigState.applied_hash``: a router whose inputs changed
    anywhere (global, region, station, device, template) shows as pending without rendering on each read.
    """

    __tablename__ = "config_desired"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None: it does not render (see ``error``)
    error: Mapped[str] = mapped_column(String(1000), default="")
    rendered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
