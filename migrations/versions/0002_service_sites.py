"""Full-text search on services and the service_site table behind "nearest".

Revision ID: 0002_service_sites
Revises: 0001_hsds_core
Create Date: 2026-11-25

``service_site`` is fieldnav's own denormalised row per service at a location: everything
the nearest query filters on, next to the geometry, so the KNN scan applies the filters in
the same index walk, and a ``card`` (jsonb) with what a result shows. It is rebuilt from the
HSDS tables in the import's transaction (service/directory/sites.py); never edit it by hand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql as pg

revision = "0002_service_sites"
down_revision = "0001_hsds_core"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)

# English and French stemming side by side: "shelters" finds "shelter", "logements" finds
# "logement". Name weighs most, then alternate name, then description.
SEARCH_VECTOR_SQL = """
    setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
    setweight(to_tsvector('french', coalesce(name, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(alternate_name, '')), 'B') ||
    setweight(to_tsvector('french', coalesce(alternate_name, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(description, '')), 'C') ||
    setweight(to_tsvector('french', coalesce(description, '')), 'C')
"""


def upgrade() -> None:
    op.add_column(
        "service",
        sa.Column("search_vector", pg.TSVECTOR, sa.Computed(SEARCH_VECTOR_SQL, persisted=True)),
    )
    op.create_index("service_search_gin", "service", ["search_vector"], postgresql_using="gin")

    op.create_table(
        "service_site",
        sa.Column("id", UUID, primary_key=True),  # the service_at_location id
        sa.Column("service_id", UUID, sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("location_id", UUID, sa.ForeignKey("location.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.Text, nullable=False, index=True),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("is_private", sa.Boolean, nullable=False),
        # Confidential sites only: the centre of their H3 r5 cell (~250 km²), the most
        # precise position any distance shown for them is computed from.
        sa.Column("coarse_geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("category_groups", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("language_codes", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("minimum_age", sa.Numeric),
        sa.Column("maximum_age", sa.Numeric),
        sa.Column("accessible", sa.Boolean, nullable=False),
        sa.Column("capacity_available", sa.Numeric),
        sa.Column("timezone", sa.Text, nullable=False),
        # Weekly opening hours as local week minutes (Mon 00:00 = 0); NULL = hours unknown.
        sa.Column("open_week_minutes", pg.INT4MULTIRANGE),
        sa.Column("card", pg.JSONB, nullable=False),
    )
    op.create_index("service_site_geom_gist", "service_site", ["geom"], postgresql_using="gist")
    op.create_index("service_site_groups_gin", "service_site", ["category_groups"], postgresql_using="gin")
    # Local week minute (Mon 00:00 = 0) of an instant in a time zone; inlined by the planner.
    op.execute("""
        CREATE FUNCTION fieldnav_week_minute(moment timestamptz, tz text) RETURNS integer
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT ((extract(isodow FROM local) - 1) * 1440 + extract(hour FROM local) * 60
                    + extract(minute FROM local))::integer
            FROM (SELECT moment AT TIME ZONE tz AS local) AS t
        $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION fieldnav_week_minute(timestamptz, text)")
    op.drop_table("service_site")
    op.drop_index("service_search_gin", table_name="service")
    op.drop_column("service", "search_vector")
