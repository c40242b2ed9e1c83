"""Job tables: a job, one result row per device, and the job's live log lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Base

JOB_STATES = ("queued", "running", "done", "interrupted", "cancelled")
FINAL_DEVICE_STATES = ("ok", "changed", "failed", "unreachable", "cancelled")
DEVICE_STATES = ("queued", "running", "interrupted", *FINAL_DEVICE_STATES)


class Job(Base):
    """One action over a fixed list of devices (the selector is resolved at creation)."""

    __tablename__ = "provisioning_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    selector: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    concurrency: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("provisioning_jobs.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobDevice(Base):
    """The result of one device in one job; ``attempt`` grows with each resume."""

    __tablename__ = "provisioning_job_devices"
    __table_args__ = (Index("ix_provisioning_job_devices_job_status", "job_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("provisioning_jobs.id", ondelete="CASCADE"))
    # No foreign key: a job's history stays readable after a device is deleted.
    device_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobLog(Base):
    """One live log line; ``id`` orders lines and is the polling cursor (``?after=``)."""

    __tablename__ = "provisioning_job_logs"
    __table_args__ = (Index("ix_provisioning_job_logs_job", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("provisioning_jobs.id", ondelete="CASCADE"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    line: Mapped[str] = mapped_column(Text)
