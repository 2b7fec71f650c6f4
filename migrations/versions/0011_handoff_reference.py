"""handoff.reference: a short code per handoff to read out on the phone (``K7M-4QX``).

Revision ID: 0011_handoff_reference
Revises: 0010_auth_devices
Create Date: 2026-12-02

Six characters without look-alikes (service/handoffs/reference.py), unique. Existing
handoffs get one here, drawn with ``secrets`` like new ones (the alphabet is repeated here:
a migration must not change when the application code does).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011_handoff_reference"
down_revision = "0010_auth_devices"
branch_labels = None
depends_on = None

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def _code() -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"{code[:3]}-{code[3:]}"


def upgrade() -> None:
    op.execute("ALTER TABLE handoff ADD COLUMN reference text")
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM handoff"))]
    codes: set[str] = set()
    while len(codes) < len(ids):
        codes.add(_code())
    if ids:
        bind.execute(
            sa.text("""
            UPDATE handoff h SET reference = v.reference
            FROM unnest(CAST(:ids AS uuid[]), CAST(:codes AS text[])) AS v (id, reference) WHERE h.id = v.id
        """),
            {"ids": ids, "codes": list(codes)},
        )
    op.execute("ALTER TABLE handoff ALTER COLUMN reference SET NOT NULL")
    op.execute("ALTER TABLE handoff ADD CONSTRAINT handoff_reference_key UNIQUE (reference)")


def downgrade() -> None:
    op.execute("ALTER TABLE handoff DROP COLUMN reference")
