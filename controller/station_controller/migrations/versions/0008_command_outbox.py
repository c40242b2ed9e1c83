"""Command outbox: when a command row was published (``status`` gains ``queued`` before ``sent``).

A row is committed ``queued`` in its use case's transaction and becomes ``sent`` with ``published_at``
once the broker took it; the outbox sweep resends ``queued`` rows a crash left unpublished.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_column("published_at")
