"""Content tables: signing keys, bundles, versions, chunks, version→chunk links, device content state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class ContentKey(Base):
    """An ed25519 signing key; the private half is a file (signing.py), never in the database."""

    __tablename__ = "content_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Bundle(Base):
    __tablename__ = "content_bundles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    keep_versions: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BundleVersion(Base):
    """One published version; ``new_bytes`` = stored bytes of chunks the previous version lacks."""

    __tablename__ = "content_versions"
    __table_args__ = (
        UniqueConstraint("bundle_id", "version"),
        UniqueConstraint("bundle_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("content_bundles.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    stored_bytes: Mapped[int] = mapped_column(BigInteger)
    new_bytes: Mapped[int] = mapped_column(BigInteger)
    new_raw_bytes: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class StoredChunk(Base):
    __tablename__ = "content_chunks"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    stored_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VersionChunk(Base):
    """Distinct chunks of a version (delta = set difference; GC = chunks in no live version)."""

    __tablename__ = "content_version_chunks"
    __table_args__ = (Index("ix_content_version_chunks_hash", "chunk_hash"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("content_versions.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class VersionDelta(Base):
    """Format 2: exact wire bytes (delta object + pack) from a retained ``base_version`` to this version."""

    __tablename__ = "content_deltas"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("content_versions.id", ondelete="CASCADE"), primary_key=True
    )
    base_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    wire_bytes: Mapped[int] = mapped_column(BigInteger)


class DeviceContent(Base):
    """What a device reported through its ``content.*`` events, per bundle."""

    __tablename__ = "content_device_state"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bundle: Mapped[str] = mapped_column(String(64), primary_key=True)
    active_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
