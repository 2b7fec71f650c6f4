"""map_point: the narrow rows map tiles are drawn from; an index on service_site.location_id.

Revision ID: 0006_map_points
Revises: 0005_handoffs
Create Date: 2026-11-25

A map tile reads every public site in its area (15,000 rows for a z10 tile over Toronto at
100k services). ``service_site`` rows are ~1.7 KB, mostly the result ``card`` (jsonb), too
small for PostgreSQL to move to TOAST, so such a tile read ~12,000 heap pages. ``map_point``
holds only what a tile shows, for public, active, located sites: ~200 bytes a row, the point
already in Web Mercator (no ST_Transform per row), the name and flags already extracted
from the card, and the H3 cells of the cluster layers. service/directory/sites.py rewrites a source's
rows with its service_site rows (tiles.MAP_POINTS_FROM_SITES_SQL); this migration fills the
table once from the sites already built (its own copy of that statement: a migration is a
snapshot and must not change when the application does).

``service_site.location_id`` gets the index its foreign key (ON DELETE CASCADE) needs: a
re-import deleting locations otherwise scans service_site once per deleted location.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0006_map_points"
down_revision = "0005_handoffs"
branch_labels = None
depends_on = None

CLUSTER_RESOLUTIONS = range(4, 9)

FILL_FROM_SITES = """
    INSERT INTO map_point (site_id, service_id, location_id, geom_3857, category_groups, name, open_24_7, capacity,
                           h3_r4, h3_r5, h3_r6, h3_r7, h3_r8)
    SELECT s.id, s.service_id, s.location_id, ST_Transform(s.geom, 3857), s.category_groups,
           left(coalesce(s.card ->> 'name', ''), 80),
           coalesce(s.card -> 'week_intervals' = '[[0, 10080]]'::jsonb, false),
           CASE WHEN s.capacity_available IS NULL THEN 'none' WHEN s.capacity_available > 0 THEN 'available' ELSE 'full' END,
           s.h3_r4, s.h3_r5, s.h3_r6, s.h3_r7, s.h3_r8
    FROM service_site s
    WHERE NOT s.is_private AND s.status = 'active' AND s.geom IS NOT NULL
    ORDER BY ST_GeoHash(s.geom)
"""


def upgrade() -> None:
    op.create_table(
        "map_point",
        sa.Column("site_id", UUID, sa.ForeignKey("service_site.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("service_id", UUID, nullable=False),
        sa.Column("location_id", UUID, nullable=False),
        sa.Column("geom_3857", Geometry("POINT", srid=3857, spatial_index=False), nullable=False),
        sa.Column("category_groups", ARRAY(sa.Text), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("open_24_7", sa.Boolean, nullable=False),
        sa.Column("capacity", sa.Text, nullable=False),
        *(sa.Column(f"h3_r{res}", sa.BigInteger) for res in CLUSTER_RESOLUTIONS),
    )
    op.create_index("map_point_geom_gist", "map_point", ["geom_3857"], postgresql_using="gist")
    op.execute(FILL_FROM_SITES)
    op.execute("ANALYZE map_point")
    op.create_index("service_site_location_id", "service_site", ["location_id"])


def downgrade() -> None:
    op.drop_index("service_site_location_id", table_name="service_site")
    op.drop_table("map_point")
