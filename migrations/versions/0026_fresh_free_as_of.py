"""Sites with a free count indexed by place and count time: "a bed tonight" reads only the
fresh counts.

``has_capacity`` matches a site with a free count reported since ``fresh_since``. The indexes
of 0024 and 0025 held every site with a free count, fresh or stale, so the KNN walk (and,
for confidential sites, the walk of cells within reach) read every one of them within reach
when none was fresh, the night after an outage: 1,700 buffers a call at 100k services, 43%
of the database's nearest time; the statement was planned with its values to avoid a
generic plan that was worse still. With the count time as a second GiST column (btree_gist,
a trusted extension like pg_trgm), the scan skips every part of the tree whose counts are
all older than ``fresh_since``: no fresh count, one page; a few, the pages that hold them.
(A GiST's inner keys only widen: a part of the tree where a count was written since
``fresh_since`` is read until REINDEX, even if that count is gone; after an outage longer
than the stale window, none is.)
Public sites are walked nearest first by ``geog``, confidential ones by their cell centre
(service/directory/nearest.py). That one indexes the centre as geography: on
``coarse_geom`` itself the planner took ``service_site_coarse_gist`` (every confidential
site, no count time) as often as this one, at the same estimated cost.

They replace ``service_site_free_geog_gist`` and ``service_site_free_as_of`` (0024) and
``service_site_private_free_by_cell`` (0025), which only that test read.

Revision ID: 0026_fresh_free_as_of
Revises: 0025_private_free_by_cell
"""

from __future__ import annotations

from alembic import op

revision = "0026_fresh_free_as_of"
down_revision = "0025_private_free_by_cell"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX service_site_free_geog_as_of_gist ON service_site USING gist (geog, capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute(
        "CREATE INDEX service_site_private_free_as_of_gist ON service_site "
        "USING gist ((coarse_geom::geography), capacity_as_of) WHERE is_private AND capacity_available > 0"
    )
    op.execute("DROP INDEX service_site_free_geog_gist")
    op.execute("DROP INDEX service_site_free_as_of")
    op.execute("DROP INDEX service_site_private_free_by_cell")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX service_site_private_free_by_cell ON service_site (coarse_geom, service_id, location_id) "
        "WHERE is_private AND capacity_available > 0"
    )
    op.execute(
        "CREATE INDEX service_site_free_as_of ON service_site (capacity_as_of) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute(
        "CREATE INDEX service_site_free_geog_gist ON service_site USING gist (geog) "
        "WHERE NOT is_private AND capacity_available > 0"
    )
    op.execute("DROP INDEX service_site_private_free_as_of_gist")
    op.execute("DROP INDEX service_site_free_geog_as_of_gist")
