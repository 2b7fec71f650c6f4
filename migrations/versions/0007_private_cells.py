"""private_cell: the coarse points confidential sites are ranked by, with what their sites offer.

Revision ID: 0007_private_cells
Revises: 0006_map_points
Create Date: 2026-12-01

Nearest ranks a confidential site by the distance to the centre of its H3 r5 cell, and every
confidential site of a cell shares that point. Reading them site by site cost what the cell
held: at 1M services hundreds of sites for the one or two cells near a city, to return ten,
and every confidential site in the 200 km box for a category no confidential site has.

``private_cell`` has one row per centre in use, with the union of the category groups and
languages of its confidential sites, so nearest walks cells nearest first, skips a cell that
cannot match, and takes at most ``limit`` matching sites per cell in (service_id,
location_id) order from ``service_site_private_by_cell``. service/directory/sites.py refreshes the
table whenever it rewrites sites (this migration fills it once with its own copy of that
statement: a migration is a snapshot and must not change when the application does).
"""

from __future__ import annotations

from alembic import op

revision = "0007_private_cells"
down_revision = "0006_map_points"
branch_labels = None
depends_on = None

FILL_FROM_SITES = """
    INSERT INTO private_cell (centre, category_groups, language_codes)
    SELECT c.centre, coalesce(g.category_groups, '{}'), coalesce(l.language_codes, '{}')
    FROM (SELECT DISTINCT coarse_geom AS centre FROM service_site WHERE is_private AND coarse_geom IS NOT NULL) c
    LEFT JOIN (SELECT s.coarse_geom, array_agg(DISTINCT g.code ORDER BY g.code) AS category_groups
               FROM service_site s CROSS JOIN LATERAL unnest(s.category_groups) AS g(code)
               WHERE s.is_private GROUP BY s.coarse_geom) g ON g.coarse_geom = c.centre
    LEFT JOIN (SELECT s.coarse_geom, array_agg(DISTINCT l.code ORDER BY l.code) AS language_codes
               FROM service_site s CROSS JOIN LATERAL unnest(s.language_codes) AS l(code)
               WHERE s.is_private GROUP BY s.coarse_geom) l ON l.coarse_geom = c.centre
"""


def upgrade() -> None:
    op.execute("""
        CREATE TABLE private_cell (
            centre geometry(Point, 4326) PRIMARY KEY,
            category_groups text[] NOT NULL,
            language_codes text[] NOT NULL
        )
    """)
    op.execute(FILL_FROM_SITES)
    op.execute("CREATE INDEX private_cell_centre_gist ON private_cell USING gist (centre)")
    op.execute("""
        CREATE INDEX service_site_private_by_cell ON service_site (coarse_geom, service_id, location_id)
        WHERE is_private
    """)


def downgrade() -> None:
    op.execute("DROP INDEX service_site_private_by_cell")
    op.execute("DROP TABLE private_cell")
