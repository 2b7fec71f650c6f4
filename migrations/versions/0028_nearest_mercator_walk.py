"""Nearest walks public sites in Web Mercator order: a stored ``merc`` point and its GiST indexes.

The walk of 0027 ordered by distance in degrees, which stretches east-west distances by
1 / cos(latitude): to prove its answer it fetched 26 candidates for 10 results in Toronto,
and a filter's walk reads that many more sites. Web Mercator (EPSG:3857) is conformal: its
scale is the same in every direction at a point, so the walk in its metres follows the
geodesic order closely and the same proof needs 15 candidates (service/directory/nearest.py;
bench/README.md, issue 21). ``merc`` is stored (PostGIS's own ST_Transform, once per write)
so that the walk compares float boxes as 0027's did.
``service_site_geom_gist`` (every site) still serves the boxes of the second pass.

Revision ID: 0028_nearest_mercator_walk
Revises: 0027_nearest_planar_walk
"""

from __future__ import annotations

from alembic import op

revision = "0028_nearest_mercator_walk"
down_revision = "0027_nearest_planar_walk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE service_site ADD COLUMN merc geometry(Point, 3857) "
        "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED"
    )
    op.execute("CREATE INDEX service_site_public_merc_gist ON service_site USING gist (merc) WHERE NOT is_private")
    op.execute(
        "CREATE INDEX service_site_free_merc_as_of_gist ON service_site USING gist (merc, capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute("DROP INDEX service_site_public_geom_gist")
    op.execute("DROP INDEX service_site_free_geom_as_of_gist")


def downgrade() -> None:
    op.execute("CREATE INDEX service_site_public_geom_gist ON service_site USING gist (geom) WHERE NOT is_private")
    op.execute(
        "CREATE INDEX service_site_free_geom_as_of_gist ON service_site USING gist (geom, capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute("DROP INDEX service_site_free_merc_as_of_gist")
    op.execute("DROP INDEX service_site_public_merc_gist")
    op.execute("ALTER TABLE service_site DROP COLUMN merc")
