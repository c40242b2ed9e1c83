"""WiFiDog gateways: the LAN networks and port a gateway's login redirect may name (gw_address/gw_port).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("portal_wifidog_gateways", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lan_networks", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("gw_port", sa.Integer(), nullable=False, server_default="2060"))


def downgrade() -> None:
    with op.batch_alter_table("portal_wifidog_gateways", schema=None) as batch_op:
        batch_op.drop_column("gw_port")
        batch_op.drop_column("lan_networks")
