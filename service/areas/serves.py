"""``service_site.serves_geom``: where a site's service serves people, for "who serves
this address?" (ST_Covers(serves_geom, point), on its GiST index).

A site's shape is the union of the known shapes (service_area.geom) of its service's areas
and of its own service_at_location's, simplified by SIMPLIFY_TOLERANCE_DEG (about 50 m: a
census subdivision's boundary of 10,000 points becomes a few hundred) with
ST_SimplifyPreserveTopology and made valid again; a shape the simplification would empty
(smaller than the tolerance) is kept as it was. NULL when no area of the service has a
known shape: unknown, not "serves nobody". A confidential site's shape is made of named
areas only: an extent may be drawn around its door.

The shape is computed in PostgreSQL by ``fieldnav_serves_geom`` (migration 0022). A trigger
gives a site its shape as it is inserted, so whatever rebuilds the sites (an import,
``fieldnav db migrate``, ``db rebuild-sites``) writes each row once, in its place; an import
reads its extents and matches its names before it rebuilds the sites
(service/areas/resolve.py). ``recompute`` is for shapes that change under existing sites:
``fieldnav areas load`` (every site) and migration 0022.

What the reads make of it (service/directory/nearest.py, search.py; web/src/offline.js the
same offline): ``serves=`` keeps the sites whose shape covers the point and those with none
(``filter_sql``); every result says ``serves_location`` yes, no or unknown (``location_sql``).
Only the answer leaves the database, never the shape: a confidential service's area drawn
around its door must not give the door away.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

# fieldnav_serves_geom's (migration 0022): change both together.
SIMPLIFY_TOLERANCE_DEG = 0.0005

_RECOMPUTE = """
WITH shaped AS (
    SELECT ss.id, fieldnav_serves_geom(ss.service_id, ss.id, ss.is_private) AS geom FROM service_site ss WHERE {where}
)
UPDATE service_site ss SET serves_geom = shaped.geom
FROM shaped
WHERE ss.id = shaped.id AND ss.serves_geom IS DISTINCT FROM shaped.geom
RETURNING ss.service_id
"""


# The point "who serves this address?" asks about, bound as :serves_lat and :serves_lon.
SERVES_POINT = "ST_SetSRID(ST_MakePoint(:serves_lon, :serves_lat), 4326)"


def filter_sql(shape: str) -> str:
    """The sites whose ``shape`` (a serves_geom column) covers the point, or have no shape
    (unknown is kept: most services state no area, and a missing area is not a refusal)."""
    return f"({shape} IS NULL OR ST_Covers({shape}, {SERVES_POINT}))"


def location_sql(shape: str) -> str:
    """``serves_location`` of a site with this ``shape``: 'yes', 'no' or 'unknown'."""
    return (
        f"(CASE WHEN {shape} IS NULL THEN 'unknown' WHEN ST_Covers({shape}, {SERVES_POINT}) THEN 'yes' ELSE 'no' END)"
    )


# What an offline pack and sync carry of a site's shape (``serves_area``): the shape
# simplified again, to about 200 m, with 4 decimals (about 10 m), as GeoJSON MultiPolygon
# coordinates; the phone answers serves= with it (web/src/offline.js). Near a boundary the
# offline answer may differ from the server's; a worker is told "outside its area", not
# refused service. 200 m keeps Ontario's outline under 300 points.
OFFLINE_TOLERANCE_DEG = 0.002
OFFLINE_AREA_SQL = (
    f"(CASE WHEN serves_geom IS NULL THEN NULL ELSE CAST(ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid("
    f"ST_SimplifyPreserveTopology(serves_geom, {OFFLINE_TOLERANCE_DEG})), 3)), 4) AS jsonb) -> 'coordinates' END)"
)


def point_params(point: tuple[float, float]) -> dict[str, float]:
    """The bound values of ``SERVES_POINT`` for a (lat, lon)."""
    return {"serves_lat": point[0], "serves_lon": point[1]}


def recompute(connection: Connection, source: str | None = None) -> list[uuid.UUID]:
    """Recompute ``serves_geom`` of the sites of ``source`` (or of every site); returns the
    services (each once, sorted) whose sites' shapes changed."""
    where, params = ("ss.source = :source", {"source": source}) if source is not None else ("true", {})
    changed = connection.execute(text(_RECOMPUTE.format(where=where)), params).scalars()
    return sorted(set(changed), key=str)
