"""Revoked tokens and rate-limit counters.

Revision ID: 0004_auth
Revises: 0003_tiles_and_packs
Create Date: 2026-11-25

Both live in the database so every API process sees the same revocations and counts
(nothing may assume one process). The counters are UNLOGGED: losing them in a crash only
resets the current minute's counts, and they cost no WAL on the hot path.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_auth"
down_revision = "0003_tiles_and_packs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.Text, primary_key=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # Kept until the token would have expired anyway; then it can be forgotten.
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
    )
    op.execute("""
        CREATE UNLOGGED TABLE rate_limit_window (
            bucket text NOT NULL,
            window_start timestamptz NOT NULL,
            hits integer NOT NULL,
            PRIMARY KEY (bucket, window_start)
        )
    """)


def downgrade() -> None:
    op.drop_table("rate_limit_window")
    op.drop_table("revoked_token")
