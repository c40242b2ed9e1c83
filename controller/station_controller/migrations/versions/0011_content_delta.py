"""Content format v2 bookkeeping (issue 12).

Reserved in the migration chain so the three features can land in any order; a feature that needs no
table of its own leaves this revision a no-op.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
