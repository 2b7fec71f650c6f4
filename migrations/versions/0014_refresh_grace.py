"""Devices: the refresh token a rotation replaced, and when, so that a phone whose answer was
lost on a weak signal may present it again for a short while (service/auth/devices.py).

Revision ID: 0014_refresh_grace
Revises: 0013_pack_storage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_refresh_grace"
down_revision = "0013_pack_storage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_device", sa.Column("previous_refresh_hash", sa.LargeBinary(), nullable=True))
    op.add_column("auth_device", sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("auth_device", "rotated_at")
    op.drop_column("auth_device", "previous_refresh_hash")
