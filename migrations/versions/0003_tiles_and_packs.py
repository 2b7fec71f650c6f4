"""H3 cells on service sites (map clusters) and offline packs.

Revision ID: 0003_tiles_and_packs
Revises: 0002_service_sites
Create Date: 2026-11-25

- ``service_site.h3_r4`` .. ``h3_r8``: the cells a site falls in, for cluster tiles;
- ``h3_cell``: the centre of every cell in use, so cluster tiles can place a cluster at its
  cell centre without H3 functions in the database;
- ``offline_pack``: the manifest of each built offline pack (the archive is a file).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql as pg

revision = "0003_tiles_and_packs"
down_revision = "0002_service_sites"
branch_labels = None
depends_on = None

CLUSTER_RESOLUTIONS = range(4, 9)


def upgrade() -> None:
    for res in CLUSTER_RESOLUTIONS:
        op.add_column("service_site", sa.Column(f"h3_r{res}", sa.BigInteger))
    op.create_table(
        "h3_cell",
        sa.Column("cell", sa.BigInteger, primary_key=True),
        sa.Column("resolution", sa.SmallInteger, nullable=False),
        sa.Column("centre", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_table(
        "offline_pack",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("request_key", sa.Text, nullable=False),
        sa.Column("data_version", sa.BigInteger, nullable=False),
        sa.Column("request", pg.JSONB, nullable=False),
        sa.Column("tile_count", sa.Integer, nullable=False),
        sa.Column("archive_bytes", sa.BigInteger, nullable=False),
        sa.Column("archive_sha256", sa.Text, nullable=False),
        sa.Column("service_count", sa.Integer, nullable=False),
        sa.Column("snapshot_bytes", sa.BigInteger, nullable=False),
        sa.Column("snapshot_sha256", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("request_key", "data_version", name="offline_pack_request_version"),
    )


def downgrade() -> None:
    op.drop_table("offline_pack")
    op.drop_table("h3_cell")
    for res in CLUSTER_RESOLUTIONS:
        op.drop_column("service_site", f"h3_r{res}")
