"""Service areas as geometry (service/areas/): "who serves this address?".

- ``area_boundary``: named areas (a province, a region, a city, a postal prefix) with their
  shape, loaded by ``fieldnav areas load FILE``; ``name_key`` and ``match_keys`` (the name's
  and the aliases' normal forms, service/areas/matching.py) are what a service area's name is
  matched against. This migration loads the shipped default (service/data/
  default_boundaries.geojson: Ontario).
- ``service_area.geom`` (NULL when unknown) and ``geom_origin`` ('extent': read from the HSDS
  extent; 'named': the boundary its name matched).
- ``service_site.serves_geom``: the union of its service's (and its service_at_location's)
  area shapes, simplified (``fieldnav_serves_geom``); NULL when none is known. A trigger
  fills it as a site is inserted, so every rebuild of the sites keeps it;
  service/areas/serves.py recomputes it when the shapes change under existing sites.
- ``fieldnav_area_extent(extent, extent_type)``: one HSDS extent (GeoJSON Geometry, Feature or
  FeatureCollection; or WKT) to a valid MultiPolygon in EPSG:4326, or NULL and the reason.
  It catches every error of the parsers, so an import parses a whole source's extents in
  one statement and a bad extent is a reported problem, never a failed import.

Revision ID: 0022_service_areas
Revises: 0021_population_groups
"""

from __future__ import annotations

from alembic import op

revision = "0022_service_areas"
down_revision = "0021_population_groups"
branch_labels = None
depends_on = None

# Larger extents are refused before any parser sees them (a province's detailed outline is
# a few MB; nothing a service area needs is bigger).
MAX_EXTENT_CHARS = 20_000_000

PARSE_FUNCTION_SQL = f"""
CREATE FUNCTION fieldnav_area_extent(extent text, extent_type text, OUT geom geometry, OUT problem text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
    body text := btrim(coalesce(extent, ''));
    declared text := lower(btrim(coalesce(extent_type, '')));
    doc jsonb;
    raw geometry;
BEGIN
    IF body = '' THEN
        RETURN;  -- no extent: nothing to read, nothing to report
    END IF;
    IF length(body) > {MAX_EXTENT_CHARS} THEN
        problem := 'is longer than {MAX_EXTENT_CHARS} characters';
        RETURN;
    END IF;
    BEGIN
        IF left(body, 1) IN ('{{', '[') THEN
            doc := body::jsonb;
            IF jsonb_typeof(doc) <> 'object' THEN
                problem := 'is JSON but not a GeoJSON object';
                RETURN;
            ELSIF doc->>'type' = 'FeatureCollection' THEN
                SELECT ST_Collect(ST_GeomFromGeoJSON(f->'geometry')) INTO raw
                FROM jsonb_array_elements(doc->'features') AS f
                WHERE jsonb_typeof(f->'geometry') = 'object';
            ELSIF doc->>'type' = 'Feature' THEN
                IF jsonb_typeof(doc->'geometry') = 'object' THEN
                    raw := ST_GeomFromGeoJSON(doc->'geometry');
                END IF;
            ELSE
                raw := ST_GeomFromGeoJSON(doc);
            END IF;
        ELSIF upper(body) ~ '^(SRID=[0-9]+;)?\\s*(MULTI)?(POLYGON|POINT|LINESTRING)|^(SRID=[0-9]+;)?\\s*GEOMETRYCOLLECTION' THEN
            raw := ST_GeomFromEWKT(body);
        ELSE
            problem := 'is neither GeoJSON nor WKT (extent_type ' || coalesce(nullif(declared, ''), 'not given') || ')';
            RETURN;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        problem := CASE WHEN left(body, 1) IN ('{{', '[') THEN 'is not valid GeoJSON' ELSE 'is not valid WKT' END
                   || ' (' || left(SQLERRM, 120) || ')';
        RETURN;
    END;
    IF raw IS NULL OR ST_IsEmpty(raw) THEN
        problem := 'holds no shape';
        RETURN;
    END IF;
    IF ST_XMin(raw) < -180 OR ST_XMax(raw) > 180 OR ST_YMin(raw) < -90 OR ST_YMax(raw) > 90 THEN
        problem := 'has coordinates out of range (longitude -180..180, latitude -90..90, WGS 84)';
        RETURN;
    END IF;
    IF ST_Dimension(raw) < 2 AND NOT EXISTS (
        SELECT 1 FROM ST_Dump(raw) AS d WHERE ST_Dimension(d.geom) = 2
    ) THEN
        problem := 'is a ' || lower(GeometryType(raw)) || ', not an area';
        RETURN;
    END IF;
    BEGIN
        geom := ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Force2D(ST_SetSRID(raw, 4326))), 3));
    EXCEPTION WHEN OTHERS THEN
        geom := NULL;
    END;
    IF geom IS NULL OR ST_IsEmpty(geom) THEN
        geom := NULL;
        problem := 'is not a valid area (nothing is left of it once made valid)';
    END IF;
END
$fn$
"""


# A site's shape: the union of its service's and its service_at_location's known area
# shapes, simplified by about 50 m (service/areas/serves.py, SIMPLIFY_TOLERANCE_DEG) and made
# valid again; kept unsimplified when simplifying would empty it; NULL when none is known.
# A confidential site's shape comes from named areas only (a town, a postal prefix): an
# extent may be drawn around its door, and serves= answers asked point by point would trace
# it (service/directory/confidential.py withholds extents for the same reason).
SERVES_FUNCTION_SQL = """
CREATE FUNCTION fieldnav_serves_geom(site_service_id uuid, site_id uuid, site_is_private boolean) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN u.geom IS NULL THEN NULL
                WHEN ST_IsEmpty(s.geom) THEN ST_Multi(ST_CollectionExtract(u.geom, 3))
                ELSE s.geom END
    FROM (SELECT ST_Union(a.geom) AS geom FROM service_area a
          WHERE a.geom IS NOT NULL AND (a.service_id = site_service_id OR a.service_at_location_id = site_id)
                AND (NOT site_is_private OR a.geom_origin = 'named')) AS u
    CROSS JOIN LATERAL (
        SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SimplifyPreserveTopology(u.geom, 0.0005)), 3)) AS geom
    ) AS s
$fn$
"""

# Sites get their shape as they are written, whoever rebuilds them (an import,
# `fieldnav db migrate`, `fieldnav db rebuild-sites`): the row is written once, in the
# geohash order sites.py writes (an UPDATE afterwards would move a quarter of the rows to
# other pages, which the nearest walk reads).
SERVES_TRIGGER_SQL = """
CREATE FUNCTION fieldnav_site_serves() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.serves_geom IS NULL THEN
        NEW.serves_geom := fieldnav_serves_geom(NEW.service_id, NEW.id, NEW.is_private);
    END IF;
    RETURN NEW;
END
$fn$
"""


def upgrade() -> None:
    op.execute(PARSE_FUNCTION_SQL)
    op.execute("""
        CREATE TABLE area_boundary (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL,
            name_key text NOT NULL,
            kind text NOT NULL,
            aliases text[] NOT NULL DEFAULT '{}',
            match_keys text[] NOT NULL,
            geom geometry(MultiPolygon, 4326) NOT NULL,
            loaded_from text NOT NULL,
            loaded_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (name_key, kind)
        )
    """)
    op.execute("CREATE INDEX area_boundary_geom ON area_boundary USING gist (geom)")
    op.execute("CREATE INDEX area_boundary_match_keys ON area_boundary USING gin (match_keys)")
    op.execute("""
        ALTER TABLE service_area
            ADD COLUMN geom geometry(MultiPolygon, 4326),
            ADD COLUMN geom_origin text CHECK (geom_origin IN ('extent', 'named'))
    """)
    op.execute("ALTER TABLE service_site ADD COLUMN serves_geom geometry(MultiPolygon, 4326)")
    op.execute("CREATE INDEX service_site_serves_geom ON service_site USING gist (serves_geom)")
    op.execute(SERVES_FUNCTION_SQL)  # (a SQL function's body is checked now: after the columns)
    op.execute(SERVES_TRIGGER_SQL)
    op.execute(
        "CREATE TRIGGER service_site_serves BEFORE INSERT ON service_site FOR EACH ROW EXECUTE FUNCTION fieldnav_site_serves()"
    )

    from service.areas import boundaries, resolve

    connection = op.get_bind()
    boundaries.load_default(connection)
    resolve.resolve_all(connection)


def downgrade() -> None:
    op.execute("DROP TRIGGER service_site_serves ON service_site")
    op.execute("DROP FUNCTION fieldnav_site_serves()")
    op.execute("DROP INDEX service_site_serves_geom")
    op.execute("ALTER TABLE service_site DROP COLUMN serves_geom")
    op.execute("ALTER TABLE service_area DROP COLUMN geom_origin, DROP COLUMN geom")
    op.execute("DROP TABLE area_boundary")
    op.execute("DROP FUNCTION fieldnav_serves_geom(uuid, uuid, boolean)")
    op.execute("DROP FUNCTION fieldnav_area_extent(text, text)")
