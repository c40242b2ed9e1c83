"""Campaign tables: the campaign, one row per targeted device (its state and result), and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

CAMPAIGN_STATES = ("draft", "running", "paused", "finished", "cancelled", "aborted")
ACTIVE_STATES = ("running", "paused")
DEVICE_STATES = ("pending", "running", "retry_wait", "succeeded", "failed", "cancelled", "skipped")


class Campaign(Base):
    """A rollout of one payload (``payload_kind`` + ``payload``) to a target, in waves.

    ``state``: draft → running ⇄ paused → finished | cancelled | aborted. Every policy is stored here, so
    a restarted controller rebuilds the scheduler from this row alone.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    payload_kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    target: Mapped[dict[str, Any]] = mapped_column(JSON)  # regions, tags, stations, role
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)  # window, starts_at, ends_at, end_behavior
    waves: Mapped[dict[str, Any]] = mapped_column(JSON)  # canary, percentages | exponential
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    retries: Mapped[dict[str, Any]] = mapped_column(JSON)  # overrides per failure type
    rate_cap_bps: Mapped[int | None] = mapped_column(BigInteger)  # this campaign's share of the origin
    device_rate_bps: Mapped[int | None] = mapped_column(BigInteger)  # per-device cap sent with each start
    max_active: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    reason: Mapped[str | None] = mapped_column(String(512))
    current_wave: Mapped[int] = mapped_column(Integer, default=0)
    wave_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    members_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignDevice(Base):
    """One targeted device: wave, state, attempts, the job (= command id) now running, progress, result.

    ``state``: pending → running → succeeded | failed, with retry_wait between attempts;
    cancelled (campaign cancelled) or skipped (campaign ended before it started).
    """

    __tablename__ = "campaign_devices"
    __table_args__ = (
        # The scheduler's queries: due pending devices of a campaign in wave order, and tallies.
        Index("ix_campaign_devices_due", "campaign_id", "state", "wave", "not_before"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    station_code: Mapped[str] = mapped_column(String(64))
    region_path: Mapped[str] = mapped_column(String(512))
    timezone: Mapped[str] = mapped_column(String(64))
    wave: Mapped[int] = mapped_column(Integer)
    order_key: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # window or backoff
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # failure type → count
    job_id: Mapped[str | None] = mapped_column(String(64), index=True)  # command id of the attempt
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger)
    rate_bps: Mapped[float | None] = mapped_column(Float)
    eta_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(32))  # payload's own word, e.g. downloading, paused
    failure_type: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(1024))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignEvent(Base):
    """History: campaign state changes, wave changes and each device's attempts and outcomes."""

    __tablename__ = "campaign_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
