"""Registry tables: a region tree, stations in regions, devices in stations, tags on stations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base

# metadata.create_all (tests, benchmarks) needs the extension the trigram index uses, as the migration does.
event.listen(
    Base.metadata,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
)

station_tags = Table(
    "station_tags",
    Base.metadata,
    Column("station_id", ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # Tag filters go tag → stations; the primary key (station_id, tag_id) cannot serve that.
    Index("ix_station_tags_tag", "tag_id", "station_id"),
)


class Region(Base):
    """A node of the administrative tree; ``path`` is the full name path for subtree filters."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    # e.g. "河南省/南阳市/唐河县/城郊乡/王庄村"; subtree = path == p OR path LIKE p || '/%'
    path: Mapped[str] = mapped_column(String(512), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Station(Base):
    """A village service station: usually one STB and one router."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    region: Mapped[Region] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=station_tags, lazy="selectin")
    devices: Mapped[list[Device]] = relationship(back_populates="station", lazy="selectin")


class Device(Base):
    """One agent = one MQTT client id = one credential.

    ``status``: pending (pre-registered, token issued) → enrolled → revoked (may be re-issued a token).
    The presence columns are written only by ingest, in batches.
    """

    __tablename__ = "devices"
    __table_args__ = (
        # Each filter index ends in ``id`` so a page of ids comes from the index alone (list_devices
        # pages ids first, then loads 50 rows), instead of sorting every matching row.
        Index("ix_devices_station_role", "station_id", "role", "id"),
        Index("ix_devices_online_region", "online", "region_path"),
        # Subtree filters are LIKE 'p/%'; PostgreSQL serves them from an index only with pattern ops.
        Index(
            "ix_devices_region_path",
            "region_path",
            "id",
            postgresql_ops={"region_path": "varchar_pattern_ops"},
        ),
        # Free-text search is a substring match on one lower-cased column; PostgreSQL serves it with a
        # trigram index (pg_trgm), created by the migration only there.
        Index(
            "ix_devices_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # stb | router
    serial: Mapped[str] = mapped_column(String(128), unique=True)
    mac: Mapped[str | None] = mapped_column(String(17), index=True)
    # Denormalised from the station's region so list filters need no join on the hot path.
    region_path: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # lower(id serial mac station-code station-name): what the list's free-text search matches.
    search_text: Mapped[str] = mapped_column(String(512), default="")
    token_hash: Mapped[str | None] = mapped_column(String(128))
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(256))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agent_version: Mapped[str | None] = mapped_column(String(64), index=True)
    boot_id: Mapped[str | None] = mapped_column(String(64))
    session: Mapped[int | None] = mapped_column(Integer)
    hardware: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    capabilities: Mapped[list[str] | None] = mapped_column(JSON)
    # Firmware state from the birth (docs/firmware.md): the running agent slot, the OS version and slot,
    # and the last finished update (station_protocol.firmware.LastUpdate fields).
    agent_slot: Mapped[str | None] = mapped_column(String(8))
    os_version: Mapped[str | None] = mapped_column(String(64), index=True)
    os_slot: Mapped[str | None] = mapped_column(String(64))
    last_update: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    latest: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # last telemetry body
    latest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    desired_config_version: Mapped[int] = mapped_column(Integer, default=0)
    desired_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reported_config_version: Mapped[int] = mapped_column(Integer, default=0)
    rx_bps: Mapped[float | None] = mapped_column(Float)
    tx_bps: Mapped[float | None] = mapped_column(Float)

    station: Mapped[Station] = relationship(back_populates="devices")
