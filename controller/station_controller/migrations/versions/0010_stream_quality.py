"""Live lessons, lesson QoE samples, alerts received from Alertmanager (issue 11).

Reserved in the migration chain so the three features can land in any order; a feature that needs no
table of its own leaves this revision a no-op.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
