"""Firmware releases, device update state and history (issue 10); the birth's firmware fields on devices.

Tables: ``firmware_keys`` (pinned public keys of the firmware role), ``firmware_releases``,
``firmware_device_state`` (each device's current or last update job), ``firmware_update_events``
(history). Columns on ``devices``: ``agent_slot``, ``os_version``, ``os_slot``, ``last_update``.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)


def _keys() -> None:
    op.create_table(
        "firmware_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("retired_at", _TZ, nullable=True),
    )


def _releases() -> None:
    op.create_table(
        "firmware_releases",
        sa.Column("release_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("version_key", sa.String(48), nullable=False),
        sa.Column("rollback_of", sa.String(40), nullable=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=True),
        sa.Column("uploaded_at", _TZ, nullable=False),
        sa.Column("retired_at", _TZ, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_index("ix_firmware_releases_kind_version", "firmware_releases", ["kind", "version_key"])


def _device_state() -> None:
    op.create_table(
        "firmware_device_state",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("from_version", sa.String(40), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("detail", sa.String(1024), nullable=False),
        sa.Column("slot", sa.String(64), nullable=True),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state_since", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.Column("stuck_at", _TZ, nullable=True),
    )
    op.create_index("ix_firmware_device_state_state", "firmware_device_state", ["state", "state_since"])


def _history() -> None:
    op.create_table(
        "firmware_update_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("from_version", sa.String(40), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("detail", sa.String(1024), nullable=False),
        sa.Column("at", _TZ, nullable=False),
    )
    op.create_index("ix_firmware_update_events_device", "firmware_update_events", ["device_id", "id"])


def upgrade() -> None:
    _keys()
    _releases()
    _device_state()
    _history()
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_slot", sa.String(8), nullable=True))
        batch_op.add_column(sa.Column("os_version", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("os_slot", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("last_update", sa.JSON(), nullable=True))
        batch_op.create_index("ix_devices_os_version", ["os_version"])


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_os_version")
        for column in ("last_update", "os_slot", "os_version", "agent_slot"):
            batch_op.drop_column(column)
    op.drop_index("ix_firmware_update_events_device", table_name="firmware_update_events")
    op.drop_table("firmware_update_events")
    op.drop_index("ix_firmware_device_state_state", table_name="firmware_device_state")
    op.drop_table("firmware_device_state")
    op.drop_index("ix_firmware_releases_kind_version", table_name="firmware_releases")
    op.drop_table("firmware_releases")
    op.drop_table("firmware_keys")
