"""Nearest walks public sites in geodesic order: a geography column and its GiST index.

``service_site.geog`` is ``geom`` as geography, generated (every write of ``geom`` keeps it),
and ``service_site_public_geog_gist`` indexes it for public sites: the nearest statement's
KNN (service/directory/nearest.py). Its ``<->`` is the distance on the mean-radius sphere,
within 0.56% of the ellipsoid's, so the walk needs k + a few candidates to prove its answer
where the planar index (degrees: in Toronto a degree of longitude is 28% shorter than one of
latitude) needed 4k. A column, not an index on the expression ``geom::geography``: PostGIS
estimates how many rows a geography box holds from the column's statistics only, and took
11 rows for a 200 km box holding 86,000 (a plan that read every French-speaking site of
Ontario to answer ten). The planar index stays: tiles, boxes and the second pass read it.

"A bed tonight" (``has_capacity``) gets two partial indexes over the sites with a free count:
the same KNN walk over them alone, and their count times (``capacity_as_of``), so that when
no count is fresh (the night after an outage) the answer is an index lookup, not a read of
every shelter.

Revision ID: 0024_nearest_geography_index
Revises: 0023_shares
"""

from __future__ import annotations

from alembic import op

revision = "0024_nearest_geography_index"
down_revision = "0023_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE service_site ADD COLUMN geog geography(Point, 4326) GENERATED ALWAYS AS (geom::geography) STORED"
    )
    op.execute("CREATE INDEX service_site_public_geog_gist ON service_site USING gist (geog) WHERE NOT is_private")
    op.execute(
        "CREATE INDEX service_site_free_geog_gist ON service_site USING gist (geog) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute(
        "CREATE INDEX service_site_free_as_of ON service_site (capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute("ANALYZE service_site")


def downgrade() -> None:
    op.execute("DROP INDEX service_site_free_as_of")
    op.execute("DROP INDEX service_site_free_geog_gist")
    op.execute("DROP INDEX service_site_public_geog_gist")
    op.execute("ALTER TABLE service_site DROP COLUMN geog")
