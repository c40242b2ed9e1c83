"""Portal tables: hotspots, policies, pending logins, SMS codes, sessions, vouchers, records, gateways."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

POLICY_FIELDS = (
    "session_s",
    "idle_timeout_s",
    "up_kbps",
    "down_kbps",
    "daily_quota_bytes",
    "devices_per_phone",
    "walled_garden",
    "terms_version",
)
SCOPES = ("region", "station", "device")  # inheritance order: region path (root first) → station → router


class Hotspot(Base):
    """A router with the portal enabled; ``gateway_key`` signs its splash redirects (HMAC-SHA256)."""

    __tablename__ = "portal_hotspots"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    gateway_key: Mapped[str] = mapped_column(String(64))
    lan_interface: Mapped[str] = mapped_column(String(32), default="br-lan")
    wan_interface: Mapped[str] = mapped_column(String(32), default="eth0")
    splash_port: Mapped[int] = mapped_column(Integer, default=2050)
    trusted_macs: Mapped[list[str]] = mapped_column(JSON, default=list)
    blocked_macs: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Policy(Base):
    """Limits for one scope; a NULL field inherits from the enclosing scope (then from settings)."""

    __tablename__ = "portal_policies"
    __table_args__ = (UniqueConstraint("scope", "scope_key", name="uq_portal_policies_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # region | station | device
    scope_key: Mapped[str] = mapped_column(
        String(512)
    )  # region path ("" = everywhere), station code, device id
    session_s: Mapped[int | None] = mapped_column(Integer)
    idle_timeout_s: Mapped[int | None] = mapped_column(Integer)
    up_kbps: Mapped[int | None] = mapped_column(Integer)
    down_kbps: Mapped[int | None] = mapped_column(Integer)
    daily_quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    devices_per_phone: Mapped[int | None] = mapped_column(Integer)
    walled_garden: Mapped[list[str] | None] = mapped_column(JSON)
    terms_version: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PendingLogin(Base):
    """A phone's visit to the portal: token (sha256 stored) bound to gateway + MAC + IP, used once."""

    __tablename__ = "portal_pending_logins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # native | wifidog
    gateway: Mapped[str] = mapped_column(String(64))  # router device id or wifidog gw_id
    mac: Mapped[str] = mapped_column(String(17))  # "" when a classic wifidog gateway did not send it
    ip: Mapped[str] = mapped_column(String(45))
    url: Mapped[str] = mapped_column(String(2048))  # the signed original URL (native) or gateway url
    gw_address: Mapped[str | None] = mapped_column(String(45))
    gw_port: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SmsCode(Base):
    """One code sent to a phone; only an HMAC of it is stored; ``attempts`` counts wrong guesses."""

    __tablename__ = "portal_sms_codes"
    __table_args__ = (
        Index("ix_portal_sms_codes_phone", "phone", "created_at"),
        Index("ix_portal_sms_codes_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    source_ip: Mapped[str] = mapped_column(String(45))
    mac: Mapped[str] = mapped_column(String(17))
    gateway: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VoucherBatch(Base):
    """A printed batch of vouchers; limits apply to each voucher, duration counts from first use."""

    __tablename__ = "portal_voucher_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str] = mapped_column(String(256), default="")
    count: Mapped[int] = mapped_column(Integer)
    max_devices: Mapped[int] = mapped_column(Integer, default=1)
    duration_s: Mapped[int] = mapped_column(Integer)
    up_kbps: Mapped[int | None] = mapped_column(Integer)
    down_kbps: Mapped[int | None] = mapped_column(Integer)
    quota_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Voucher(Base):
    """One code; kept readable so staff can reprint unused vouchers."""

    __tablename__ = "portal_vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("portal_voucher_batches.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(16), unique=True)
    first_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    devices: Mapped[list[str]] = mapped_column(JSON, default=list)  # MACs that used it
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PortalSession(Base):
    """A phone online through one router (native) or wifidog gateway; ``id`` is 128 random bits."""

    __tablename__ = "portal_sessions"
    __table_args__ = (
        Index("ix_portal_sessions_mac", "mac", "status"),
        Index("ix_portal_sessions_phone", "phone", "status"),
        Index("ix_portal_sessions_status", "status", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # native | wifidog
    gateway: Mapped[str] = mapped_column(String(64), index=True)  # router device id or wifidog gw_id
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"), index=True)
    region_path: Mapped[str] = mapped_column(String(512), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    voucher_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_vouchers.id", ondelete="SET NULL"), index=True
    )
    mac: Mapped[str] = mapped_column(String(17))
    ip: Mapped[str] = mapped_column(String(45))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # wifidog gateways only
    token_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    idle_timeout_s: Mapped[int] = mapped_column(Integer)
    up_kbps: Mapped[int] = mapped_column(Integer)
    down_kbps: Mapped[int] = mapped_column(Integer)
    quota_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # 0 = none
    bytes_up: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_down: Mapped[int] = mapped_column(BigInteger, default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended | failed
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(32))


class LoginRecord(Base):
    """Compliance record of one login (kept ``portal_retention_days``, exported as CSV by auditors)."""

    __tablename__ = "portal_login_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32), unique=True)
    method: Mapped[str] = mapped_column(String(16))  # sms | voucher | roam
    phone: Mapped[str | None] = mapped_column(String(20))
    voucher_code: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(17))
    ip: Mapped[str] = mapped_column(String(45))
    gateway: Mapped[str] = mapped_column(String(64))
    station_code: Mapped[str] = mapped_column(String(64), default="", index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bytes_up: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_down: Mapped[int] = mapped_column(BigInteger, default=0)


class TermsAcceptance(Base):
    """Who accepted which terms version, when (phone or voucher session, MAC)."""

    __tablename__ = "portal_terms_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    mac: Mapped[str] = mapped_column(String(17))
    terms_version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class WifidogGateway(Base):
    """A WiFiDog / apfree-wifidog gateway allowed to use the auth server from the listed sources."""

    __tablename__ = "portal_wifidog_gateways"

    gw_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    allowed_sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # CIDRs
    # Where the login redirect may send the phone back to (gw_address ∈ these ∪ allowed_sources, gw_port).
    lan_networks: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")  # CIDRs
    gw_port: Mapped[int] = mapped_column(Integer, default=2060, server_default="2060")
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_ping_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
