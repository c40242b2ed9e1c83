"""Content format v2 bookkeeping (issue 12): ``content_deltas``, the exact wire bytes of each delta.

One row per (published version, retained base version): what a device holding the base downloads
(delta object + pack) beside the snapshot, so estimates and budgets need no file reads.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_deltas",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.String(length=64), nullable=False),
        sa.Column("wire_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["content_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "base_version"),
    )


def downgrade() -> None:
    op.drop_table("content_deltas")
