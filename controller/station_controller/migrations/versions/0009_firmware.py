"""Firmware releases, device update state and history (issue 10).

Reserved in the migration chain so the three features can land in any order; a feature that needs no
table of its own leaves this revision a no-op.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
