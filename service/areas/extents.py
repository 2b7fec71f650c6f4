"""HSDS ``service_area.extent`` to geometry, in PostGIS, a whole source in one statement.

An extent is GeoJSON (a Geometry, a Feature or a FeatureCollection, as text) or WKT
(``POLYGON ((...))``, ``MULTIPOLYGON (...)``, EWKT with ``SRID=4326;``): what the text is
decides, not ``extent_type`` (publishers fill it in loosely). It becomes a valid
MultiPolygon in EPSG:4326 (ST_MakeValid, polygons kept, ST_Multi) or stays NULL with a
reason: not readable, a point or a line (not an area), coordinates out of range, nothing
left once made valid. The parser is ``fieldnav_area_extent`` (migration 0022), a PL/pgSQL
function that catches the parsers' errors: PostGIS decides what a valid shape is, once, in
bulk, and a bad extent can never fail the import (it is reported, action "value dropped").
A cheap check in Python first would only have repeated part of what PostGIS checks anyway.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, text

_PARSE = """
WITH parsed AS (
    SELECT a.id, a.source_id, a.name, p.geom, p.problem,
           CASE WHEN p.geom IS NULL THEN NULL ELSE 'extent' END AS origin
    FROM service_area a CROSS JOIN LATERAL fieldnav_area_extent(a.extent, a.extent_type) AS p
    WHERE {where}
), written AS (
    UPDATE service_area a SET geom = parsed.geom, geom_origin = parsed.origin
    FROM parsed
    -- Only the rows that change: an area without an extent is not rewritten at every import.
    WHERE a.id = parsed.id AND (a.geom IS DISTINCT FROM parsed.geom OR a.geom_origin IS DISTINCT FROM parsed.origin)
)
SELECT id, source_id, name, problem FROM parsed WHERE problem IS NOT NULL ORDER BY id
"""


@dataclass(frozen=True)
class BadExtent:
    area_id: uuid.UUID
    source_id: str | None
    name: str | None
    reason: str


def parse(connection: Connection, source: str | None = None) -> list[BadExtent]:
    """Read every extent of ``source`` (or of every source) into ``service_area.geom``;
    the areas without an extent, or with a bad one, get NULL (a name may match later:
    service/areas/matching.py). Returns the bad ones."""
    where, params = ("a.source = :source", {"source": source}) if source is not None else ("true", {})
    rows = connection.execute(text(_PARSE.format(where=where)), params)
    return [BadExtent(r.id, r.source_id, r.name, r.problem) for r in rows]


def parse_texts(connection: Connection, extents: list[str]) -> list[tuple[str | None, str | None]]:
    """(EWKB hex of the MultiPolygon, problem) for each GeoJSON text, in order, in one statement."""
    rows = connection.execute(
        text("""
        SELECT p.geom::text AS geom, p.problem
        FROM unnest(CAST(:extents AS text[])) WITH ORDINALITY AS e(extent, n)
        CROSS JOIN LATERAL fieldnav_area_extent(e.extent, 'geojson') AS p
        ORDER BY e.n
    """),
        {"extents": extents},
    )
    return [(r.geom, r.problem) for r in rows]
