"""Nearest walks public sites in planar order (degrees): GiST indexes of ``geom`` for them.

The nearest statement's KNN walk moves from the geography index of 0024 to the planar one:
distances in degrees are compared on the index's float boxes, where the geography walk
computes a sphere distance per entry, and it proves its answer with a bound in degrees
(service/directory/nearest.py). Measured with pgbench on the bench's points, the walk of
20 candidates in degrees took 0.19 ms against 0.26 ms for 14 on the sphere at 100k services;
at 1M, find_nearest took 1.75 ms a query against 2.28 (bench/README.md, issue 21).
``service_site_geom_gist`` holds every site; these are partial, as the walks read public
sites only.
"A bed tonight" keeps its count time as a second column (0026). ``geog`` stays: the
geodesic distance of each candidate reads it without a cast.

Revision ID: 0027_nearest_planar_walk
Revises: 0026_fresh_free_as_of
"""

from __future__ import annotations

from alembic import op

revision = "0027_nearest_planar_walk"
down_revision = "0026_fresh_free_as_of"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX service_site_public_geom_gist ON service_site USING gist (geom) WHERE NOT is_private")
    op.execute(
        "CREATE INDEX service_site_free_geom_as_of_gist ON service_site USING gist (geom, capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute("DROP INDEX service_site_public_geog_gist")
    op.execute("DROP INDEX service_site_free_geog_as_of_gist")


def downgrade() -> None:
    op.execute("CREATE INDEX service_site_public_geog_gist ON service_site USING gist (geog) WHERE NOT is_private")
    op.execute(
        "CREATE INDEX service_site_free_geog_as_of_gist ON service_site USING gist (geog, capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute("DROP INDEX service_site_free_geom_as_of_gist")
    op.execute("DROP INDEX service_site_public_geom_gist")
