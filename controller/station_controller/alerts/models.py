"""Alerts as Alertmanager reported them to the controller's webhook, one row per alert fingerprint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class AlertRecord(Base):
    """The latest state of one alert (Alertmanager's fingerprint: its label set); acknowledged by staff.

    ``device``, ``station_code`` and ``region_path`` are resolved from the registry when the alert
    arrives (alerts carry only the device label), so the page can filter by station and region.
    """

    __tablename__ = "alert_records"
    __table_args__ = (Index("ix_alert_records_status_starts", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    alertname: Mapped[str] = mapped_column(String(128), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    device: Mapped[str | None] = mapped_column(String(64), index=True)
    station_code: Mapped[str | None] = mapped_column(String(64), index=True)
    region_path: Mapped[str | None] = mapped_column(String(512), index=True)
    summary: Mapped[str] = mapped_column(String(1024), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
