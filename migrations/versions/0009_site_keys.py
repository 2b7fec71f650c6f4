"""site_key: a small, stable number per service site, the feature id of map tiles.

Revision ID: 0009_site_keys
Revises: 0008_language_index
Create Date: 2026-12-01

A tile point carried its service and location ids as 36-character UUID strings (about 20
bytes each after gzip, and unique, so MVT's value table cannot share them). In a City of
Toronto pack (z10-z16, 29,000 services) the ids were most of the 10.4 MB archive. A site is
now known in tiles by its MVT feature id, ``site_key``: a number given once per
(service_id, location_id) and never reused, 3 bytes as a varint. Results, details, packs and
sync carry it in their cards, so the app finds a tapped point among them.

Keys are handed out in ``site_key`` (kept when a site goes away, so a key never names
another site); ``service_site.site_key`` and ``map_point.site_key`` are filled by the rebuild
of the sites that ``fieldnav db migrate`` runs after a schema change (service/platform/migrate.py).
"""

from __future__ import annotations

from alembic import op

revision = "0009_site_keys"
down_revision = "0008_language_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE site_key (
            key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            service_id uuid NOT NULL,
            location_id uuid NOT NULL,
            UNIQUE (service_id, location_id)
        )
    """)
    op.execute("ALTER TABLE service_site ADD COLUMN site_key bigint")
    op.execute("ALTER TABLE map_point ADD COLUMN site_key bigint")


def downgrade() -> None:
    op.execute("ALTER TABLE map_point DROP COLUMN site_key")
    op.execute("ALTER TABLE service_site DROP COLUMN site_key")
    op.execute("DROP TABLE site_key")
