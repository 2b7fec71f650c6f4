"""Confidential sites with a free count, by cell: "a bed tonight" without reading every
confidential site.

With ``has_capacity`` the confidential part of nearest visits each cell within reach and
looks for a site with a fresh free count. Through ``service_site_private_by_cell`` it read
every confidential site of every cell (1,700 buffers a call at 100k services when no count
is fresh, 43% of the database's nearest time in bench/nearest.py --profile); this partial
index holds only the sites with a free count, in the same key order.

Revision ID: 0025_private_free_by_cell
Revises: 0024_nearest_geography_index
"""

from __future__ import annotations

from alembic import op

revision = "0025_private_free_by_cell"
down_revision = "0024_nearest_geography_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX service_site_private_free_by_cell ON service_site (coarse_geom, service_id, location_id) "
        "WHERE is_private AND capacity_available > 0"
    )


def downgrade() -> None:
    op.execute("DROP INDEX service_site_private_free_by_cell")
