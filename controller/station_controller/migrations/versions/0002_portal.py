"""Captive portal: hotspots, policies, pending logins, SMS codes, vouchers, sessions, records, gateways.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_login_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("voucher_code", sa.String(length=16), nullable=True),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("station_code", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bytes_up", sa.BigInteger(), nullable=False),
        sa.Column("bytes_down", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id"),
    )
    with op.batch_alter_table("portal_login_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_login_records_started_at"), ["started_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_portal_login_records_station_code"), ["station_code"], unique=False
        )

    op.create_table(
        "portal_pending_logins",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("gw_address", sa.String(length=45), nullable=True),
        sa.Column("gw_port", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("portal_pending_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_pending_logins_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "portal_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=512), nullable=False),
        sa.Column("session_s", sa.Integer(), nullable=True),
        sa.Column("idle_timeout_s", sa.Integer(), nullable=True),
        sa.Column("up_kbps", sa.Integer(), nullable=True),
        sa.Column("down_kbps", sa.Integer(), nullable=True),
        sa.Column("daily_quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("devices_per_phone", sa.Integer(), nullable=True),
        sa.Column("walled_garden", sa.JSON(), nullable=True),
        sa.Column("terms_version", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "scope_key", name="uq_portal_policies_scope"),
    )
    op.create_table(
        "portal_sms_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("portal_sms_codes", schema=None) as batch_op:
        batch_op.create_index("ix_portal_sms_codes_created", ["created_at"], unique=False)
        batch_op.create_index("ix_portal_sms_codes_phone", ["phone", "created_at"], unique=False)

    op.create_table(
        "portal_terms_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("terms_version", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("portal_terms_acceptances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_terms_acceptances_accepted_at"), ["accepted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_terms_acceptances_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "portal_voucher_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("max_devices", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("up_kbps", sa.Integer(), nullable=True),
        sa.Column("down_kbps", sa.Integer(), nullable=True),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "portal_vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("devices", sa.JSON(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["portal_voucher_batches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("portal_vouchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_vouchers_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("region_path", sa.String(length=512), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_timeout_s", sa.Integer(), nullable=False),
        sa.Column("up_kbps", sa.Integer(), nullable=False),
        sa.Column("down_kbps", sa.Integer(), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=False),
        sa.Column("bytes_up", sa.BigInteger(), nullable=False),
        sa.Column("bytes_down", sa.BigInteger(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["voucher_id"], ["portal_vouchers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_gateway"), ["gateway"], unique=False)
        batch_op.create_index("ix_portal_sessions_mac", ["mac", "status"], unique=False)
        batch_op.create_index("ix_portal_sessions_phone", ["phone", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sessions_station_id"), ["station_id"], unique=False)
        batch_op.create_index("ix_portal_sessions_status", ["status", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sessions_voucher_id"), ["voucher_id"], unique=False)

    op.create_table(
        "portal_wifidog_gateways",
        sa.Column("gw_id", sa.String(length=64), nullable=False),
        sa.Column("allowed_sources", sa.JSON(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ping_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ping", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("gw_id"),
    )
    op.create_table(
        "portal_hotspots",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("gateway_key", sa.String(length=64), nullable=False),
        sa.Column("lan_interface", sa.String(length=32), nullable=False),
        sa.Column("wan_interface", sa.String(length=32), nullable=False),
        sa.Column("splash_port", sa.Integer(), nullable=False),
        sa.Column("trusted_macs", sa.JSON(), nullable=False),
        sa.Column("blocked_macs", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    op.drop_table("portal_hotspots")
    op.drop_table("portal_wifidog_gateways")
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_voucher_id"))
        batch_op.drop_index("ix_portal_sessions_status")
        batch_op.drop_index(batch_op.f("ix_portal_sessions_station_id"))
        batch_op.drop_index("ix_portal_sessions_phone")
        batch_op.drop_index("ix_portal_sessions_mac")
        batch_op.drop_index(batch_op.f("ix_portal_sessions_gateway"))

    op.drop_table("portal_sessions")
    with op.batch_alter_table("portal_vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_vouchers_batch_id"))

    op.drop_table("portal_vouchers")
    op.drop_table("portal_voucher_batches")
    with op.batch_alter_table("portal_terms_acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_terms_acceptances_session_id"))
        batch_op.drop_index(batch_op.f("ix_portal_terms_acceptances_accepted_at"))

    op.drop_table("portal_terms_acceptances")
    with op.batch_alter_table("portal_sms_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_sms_codes_phone")
        batch_op.drop_index("ix_portal_sms_codes_created")

    op.drop_table("portal_sms_codes")
    op.drop_table("portal_policies")
    with op.batch_alter_table("portal_pending_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_pending_logins_expires_at"))

    op.drop_table("portal_pending_logins")
    with op.batch_alter_table("portal_login_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_login_records_station_code"))
        batch_op.drop_index(batch_op.f("ix_portal_login_records_started_at"))

    op.drop_table("portal_login_records")
