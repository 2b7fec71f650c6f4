"""The k nearest services that fit a person, from service_site, in one SQL statement.

How it stays exact and fast (DESIGN.md, "Queries that must be fast"):
1. KNN on the planar GiST index (``geom <-> point``) with every filter in the same scan,
   bounded by a box around ``max_distance_m`` so a filter that matches nothing cannot walk
   the whole index; it over-fetches 2k candidates.
2. The 2k candidates prove that the true k nearest lie within the geodesic distance of the
   farthest of them (there are 2k matches that close), so a second pass takes every match
   within that distance and ranks them by exact geodesic distance. Fewer than 2k candidates
   are every match in the box: the second pass then reads just them.
Confidential sites are ranked by the distance to the centre of their H3 r5 cell (~250 km²),
rounded up to a whole km, and never expose a position.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, TextClause, text

from spatial.geodesy import box_half_sizes_deg

OVER_FETCH = 2


@dataclass(frozen=True)
class NearestQuery:
    lat: float
    lon: float
    limit: int = 10
    max_distance_m: float = 200_000
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    age: float | None = None
    accessible: bool = False
    has_capacity: bool = False
    open_at: datetime | None = None  # timezone-aware; "open now" passes the request time


def _filters(query: NearestQuery) -> tuple[list[str], dict]:
    # Constant SQL fragments with bound values: the only way filters reach the statement.
    clauses, params = ["s.status = 'active'"], {}
    if query.categories:
        # "IS TRUE" keeps the GIN index on category_groups (for keyword search) out of this
        # statement: both passes read a few sites nearest first or in a small box, where a
        # per-row check is cheap, while a bitmap of every site in the group is not (228,000
        # rows for "shelter" at 1M services: 30 ms before the first result).
        clauses.append("(s.category_groups && CAST(:categories AS text[])) IS TRUE")
        params["categories"] = list(query.categories)
    if query.languages:
        clauses.append("s.language_codes && CAST(:languages AS text[])")
        params["languages"] = list(query.languages)
    if query.age is not None:
        clauses.append("(s.minimum_age IS NULL OR s.minimum_age <= :age) AND (s.maximum_age IS NULL OR s.maximum_age >= :age)")
        params["age"] = query.age
    if query.accessible:
        clauses.append("s.accessible")
    if query.has_capacity:
        clauses.append("s.capacity_available > 0")
    if query.open_at is not None:
        # coalesce() hides the containment from the planner's selectivity estimate (0.5% for
        # any range containment of a computed value, where about half the sites are open; the
        # planner then takes 50%). Without it, "crisis, open now" was estimated at a few dozen
        # sites in the box and planned as a full scan and sort.
        clauses.append("coalesce(s.open_week_minutes @> fieldnav_week_minute(:open_at, s.timezone), false)")
        params["open_at"] = query.open_at
    return clauses, params


@lru_cache(maxsize=512)
def _nearest_statement(where: str) -> TextClause:
    """Both rankings in one statement (one round trip); each keeps its own index scan and
    LIMIT. A handful of filter combinations exist, each statement is built once (text()
    parses its SQL every time)."""
    public, confidential = (_ranked_sql(where, confidential=c) for c in (False, True))
    return text(f"({public}) UNION ALL ({confidential})")


def _ranked_sql(where: str, *, confidential: bool) -> str:
    """The two-pass nearest statement over public sites (by their point, exact metres) or
    confidential ones (by their coarse cell centre, whole km rounded up).

    The point is written out in each place rather than taken from a CTE: only an ORDER BY
    against a value known at scan time lets the GiST index return rows nearest first."""
    geom = "s.coarse_geom" if confidential else "s.geom"
    which = "s.is_private" if confidential else "NOT s.is_private"
    # Each part's CTEs have their own names, so both parts fit in one statement.
    part = "private" if confidential else "public"
    point = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    # Rounding up to whole km keeps the order, but ties must be broken the same way for
    # everyone, so the second pass keeps every site within the rounded reach.
    reach = "ceil(max(distance_m) / 1000.0) * 1000.0" if confidential else "max(distance_m)"
    ranked = "ceil(d.distance_m / 1000.0) * 1000.0" if confidential else "d.distance_m"
    bearing = "NULL::float8" if confidential else f"degrees(ST_Azimuth({point}::geography, s.geom::geography))"
    return f"""
WITH {part}_candidates AS (
    SELECT ST_Distance({geom}::geography, {point}::geography) AS distance_m
    FROM service_site s
    WHERE {which} AND {geom} && ST_Expand({point}, :dx_deg, :dy_deg) AND {where}
    ORDER BY {geom} <-> {point}
    LIMIT :over_fetch
),
-- Fewer than 2k candidates means they are every match in the box, so their reach holds
-- them all too (none: radius 0, the second pass reads nothing rather than the whole box).
{part}_reach AS (
    SELECT least(coalesce({reach}, 0), CAST(:max_distance_m AS float8)) AS radius_m
    FROM {part}_candidates
),
-- The box around the reach, so the second pass reads only the few sites inside it from
-- the index (same over-sizing rule as spatial.geodesy.box_half_sizes_deg).
{part}_reach_box AS (
    SELECT radius_m, ST_Expand({point},
               radius_m / (111320.0 * cos(radians(least(89.9, abs(:lat) + radius_m / 110574.0 * 1.01)))) * 1.01,
               radius_m / 110574.0 * 1.01) AS box
    FROM {part}_reach
)
SELECT s.card, {ranked} AS distance_m, {bearing} AS bearing_deg
FROM {part}_reach_box r
JOIN service_site s ON {geom} && r.box
CROSS JOIN LATERAL (SELECT ST_Distance({geom}::geography, {point}::geography) AS distance_m) d
WHERE {which} AND {where} AND d.distance_m <= r.radius_m
ORDER BY 2, s.service_id, s.location_id
LIMIT :limit
"""


@dataclass(frozen=True)
class SiteHit:
    card: dict
    distance_m: float
    bearing_deg: float | None


@contextmanager
def _planned_with_values(connection: Connection) -> Iterator[None]:
    """Run the statement unprepared, so PostgreSQL plans it with the values at hand every time.
    psycopg prepares a statement from its 6th run on a connection, and PostgreSQL then moves a
    prepared statement to a generic plan after 5 more runs when it looks no costlier. For this
    statement only the values tell a filter that matches a few sites in the 200 km box (read
    them through the box) from one that matches many (walk the KNN index a few hundred sites);
    the generic plan always walks: 260 ms instead of 65 for a filter that matches nothing in
    Toronto at 100k services."""
    driver = connection.connection.driver_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None  # psycopg: never prepare
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def find_nearest(connection: Connection, query: NearestQuery) -> list[SiteHit]:
    """Public sites by exact geodesic distance merged with confidential ones by coarse
    distance; at most ``query.limit``."""
    clauses, params = _filters(query)
    where = " AND ".join(clauses)
    dx_deg, dy_deg = box_half_sizes_deg(query.lat, query.max_distance_m)
    params.update(
        lat=query.lat, lon=query.lon, limit=query.limit, over_fetch=query.limit * OVER_FETCH,
        max_distance_m=query.max_distance_m, dx_deg=dx_deg, dy_deg=dy_deg,
    )
    with _planned_with_values(connection):
        rows = connection.execute(_nearest_statement(where), params).all()
    hits = [SiteHit(row.card, float(row.distance_m), None if row.bearing_deg is None else float(row.bearing_deg))
            for row in rows]
    hits.sort(key=lambda hit: (hit.distance_m, hit.card["service_id"], hit.card["location_id"]))
    return hits[: query.limit]
