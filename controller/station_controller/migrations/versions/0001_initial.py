"""Initial registry schema: regions, stations, tags, devices, commands, staff users and sessions.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    op.create_index(op.f("ix_regions_parent_id"), "regions", ["parent_id"], unique=False)

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_staff_sessions_expires_at"), "staff_sessions", ["expires_at"], unique=False)
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"], unique=False)

    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_stations_region_id"), "stations", ["region_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("serial", sa.String(length=128), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=True),
        sa.Column("region_path", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("search_text", sa.String(length=512), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mqtt_password_hash", sa.String(length=256), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("boot_id", sa.String(length=64), nullable=True),
        sa.Column("session", sa.Integer(), nullable=True),
        sa.Column("hardware", sa.JSON(), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=True),
        sa.Column("latest", sa.JSON(), nullable=True),
        sa.Column("latest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("desired_config_version", sa.Integer(), nullable=False),
        sa.Column("desired_config", sa.JSON(), nullable=True),
        sa.Column("reported_config_version", sa.Integer(), nullable=False),
        sa.Column("rx_bps", sa.Float(), nullable=True),
        sa.Column("tx_bps", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("serial"),
    )
    op.create_index(op.f("ix_devices_agent_version"), "devices", ["agent_version"], unique=False)
    op.create_index(op.f("ix_devices_mac"), "devices", ["mac"], unique=False)
    op.create_index("ix_devices_online_region", "devices", ["online", "region_path"], unique=False)
    op.create_index(
        "ix_devices_region_path",
        "devices",
        ["region_path", "id"],
        unique=False,
        postgresql_ops={"region_path": "varchar_pattern_ops"},
    )
    op.create_index("ix_devices_station_role", "devices", ["station_id", "role", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_devices_search_trgm",
            "devices",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
    op.create_index(op.f("ix_devices_status"), "devices", ["status"], unique=False)

    op.create_table(
        "station_tags",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("station_id", "tag_id"),
    )
    op.create_index("ix_station_tags_tag", "station_tags", ["tag_id", "station_id"], unique=False)
    op.create_table(
        "commands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=2048), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_commands_created_at"), "commands", ["created_at"], unique=False)
    op.create_index(op.f("ix_commands_device_id"), "commands", ["device_id"], unique=False)
    op.create_index(op.f("ix_commands_status"), "commands", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_commands_status"), table_name="commands")
    op.drop_index(op.f("ix_commands_device_id"), table_name="commands")
    op.drop_index(op.f("ix_commands_created_at"), table_name="commands")

    op.drop_table("commands")
    op.drop_index("ix_station_tags_tag", table_name="station_tags")
    op.drop_table("station_tags")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_devices_search_trgm", table_name="devices")
    op.drop_index(op.f("ix_devices_status"), table_name="devices")
    op.drop_index("ix_devices_station_role", table_name="devices")
    op.drop_index(
        "ix_devices_region_path", table_name="devices", postgresql_ops={"region_path": "varchar_pattern_ops"}
    )
    op.drop_index("ix_devices_online_region", table_name="devices")
    op.drop_index(op.f("ix_devices_mac"), table_name="devices")
    op.drop_index(op.f("ix_devices_agent_version"), table_name="devices")

    op.drop_table("devices")
    op.drop_index(op.f("ix_stations_region_id"), table_name="stations")

    op.drop_table("stations")
    op.drop_index(op.f("ix_staff_sessions_user_id"), table_name="staff_sessions")
    op.drop_index(op.f("ix_staff_sessions_expires_at"), table_name="staff_sessions")

    op.drop_table("staff_sessions")
    op.drop_table("tags")
    op.drop_table("staff_users")
    op.drop_index(op.f("ix_regions_parent_id"), table_name="regions")

    op.drop_table("regions")
