"""Live lessons, lesson QoE samples, alerts received from Alertmanager (issue 11).

Reserved in the migration chain so the three features can land in any order; a feature that needs no
table of its own leaves this revision a no-op.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _upgrade_alerts() -> None:
    op.create_table(
        "alert_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("alertname", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("station_code", sa.String(64), nullable=True),
        sa.Column("region_path", sa.String(512), nullable=True),
        sa.Column("summary", sa.String(1024), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    )
    for column in ("alertname", "device", "station_code", "region_path"):
        op.create_index(f"ix_alert_records_{column}", "alert_records", [column])
    op.create_index("ix_alert_records_status_starts", "alert_records", ["status", "starts_at"])


def _upgrade_lessons() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("stations", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lessons_window", "lessons", ["starts_at", "ends_at"])
    op.create_table(
        "lesson_targets",
        sa.Column(
            "lesson_id", sa.Integer(), sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )


def upgrade() -> None:
    _upgrade_alerts()
    _upgrade_lessons()


def downgrade() -> None:
    op.drop_table("lesson_targets")
    op.drop_table("lessons")
    op.drop_table("alert_records")
