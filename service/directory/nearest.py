"""The k nearest services that fit a person, from service_site, in one SQL statement.

How it stays exact and fast (docs/design.md, "Queries that must be fast"):
1. KNN on the planar GiST index (``geom <-> point``, degrees) with every filter in the same
   scan, bounded by a box around ``max_distance_m`` so a filter that matches nothing cannot
   walk the whole index; it over-fetches 4k candidates, nearest first in degrees.
2. Among them, the k-th nearest by geodesic distance is ``kth_m`` away: the true k nearest
   are all within ``kth_m``. Every site the walk did not reach is at least ``walked_deg``
   away in degrees, which is at least ``walked_deg`` times the shortest metres per degree
   around the point: when that exceeds ``kth_m``, the candidates hold the answer. Otherwise
   (rare with 4k candidates) a second pass takes every match within ``kth_m`` from the box
   around it and ranks them by exact geodesic distance. Fewer than 4k candidates are every
   match in the box, and the answer.
Confidential sites are ranked by the distance to the centre of their H3 r5 cell (~250 km²),
rounded up to a whole km, and never expose a position; both passes go cell by cell.
Every result says whether its service serves the ``serves`` point, or the query point
(``serves_location``, service/areas/serves.py); ``serves`` also filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, text

from service.areas import serves
from service.directory import populations
from service.platform import db
from spatial.geodesy import (
    BOX_OVERSIZE,
    DISTANCE_UNDERSIZE,
    MAX_BOX_LAT_DEG,
    METRES_PER_DEG_LON_AT_EQUATOR,
    MIN_METRES_PER_DEG_LAT,
    box_half_sizes_deg,
)

OVER_FETCH = 4  # candidates per result; 2 made the second pass run for half the queries


@dataclass(frozen=True)
class NearestQuery:
    lat: float
    lon: float
    limit: int = 10
    max_distance_m: float = 200_000
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    age: float | None = None
    populations: tuple[str, ...] = ()  # population group codes: the person belongs to any of them
    gender: str | None = None  # a gender group code (populations.GENDER_CODES)
    # (lat, lon): only the sites whose service area holds it, or whose area is unknown.
    serves: tuple[float, float] | None = None
    accessible: bool = False
    has_capacity: bool = False
    fresh_since: datetime | None = None  # with has_capacity: counts reported before this are stale
    open_at: datetime | None = None  # timezone-aware; "open now" passes the request time


@dataclass(frozen=True)
class _Where:
    """The filters as three WHERE clauses over different rows (see _filters)."""

    indexed: str  # sites, the category and language tests open to their GIN indexes
    per_row: str  # sites, every test checked row by row
    cell: str  # private_cell rows: could the cell hold a match at all
    # A category or language test: the values decide between its GIN index and the KNN walk
    # (see _planning); without one, every value plans the walk.
    index_choice: bool


def _filters(query: NearestQuery) -> tuple[_Where, dict]:
    """The WHERE clauses of the statement's parts, and the bound values.

    Constant SQL fragments with bound values are the only way filters reach the statement.
    The category and language overlap tests can be answered by their GIN indexes. The first
    pass lets the planner use them: for a filter that matches few sites near the point
    (statistics tell it so, planned with the values) intersecting the two posting lists beats
    reading the whole box. The second pass reads a few sites in a small box, where a per-row
    check is cheap and a bitmap of every site in a common group is not (228,000 rows for
    "shelter" at 1M services: 30 ms), so there "IS TRUE" hides the indexes from the planner.
    Confidential sites are read cell by cell; a cell whose sites offer none of the groups or
    languages asked for is skipped."""
    clauses, indexed, cell = ["s.status = 'active'"], [], ["true"]
    params: dict[str, Any] = {}
    if query.categories:
        indexed.append("s.category_groups && CAST(:categories AS text[])")
        cell.append("c.category_groups && CAST(:categories AS text[])")
        params["categories"] = list(query.categories)
    if query.languages:
        indexed.append("s.language_codes && CAST(:languages AS text[])")
        cell.append("c.language_codes && CAST(:languages AS text[])")
        params["languages"] = list(query.languages)
    if query.age is not None:
        clauses.append(
            "(s.minimum_age IS NULL OR s.minimum_age <= :age) AND (s.maximum_age IS NULL OR s.maximum_age >= :age)"
        )
        params["age"] = query.age
    where_who, cell_who, params_who = populations.filter_sql(query.populations, query.gender)
    clauses.extend(where_who)
    cell.extend(cell_who)
    params.update(params_who)
    if query.serves is not None:
        # Row by row on the candidates the walk reaches: most sites state no area, so an
        # index on the shapes would not narrow the walk (a cell's sites are checked one by one).
        clauses.append(serves.filter_sql("s.serves_geom"))
    if query.accessible:
        clauses.append("s.accessible")
    if query.has_capacity:
        # A stale count is not a free bed (service/capacity/merge.py).
        clauses.append("s.capacity_available > 0 AND s.capacity_as_of >= :fresh_since")
        params["fresh_since"] = query.fresh_since
    if query.open_at is not None:
        # coalesce() hides the containment from the planner's selectivity estimate (0.5% for
        # any range containment of a computed value, where about half the sites are open; the
        # planner then takes 50%). Without it, "crisis, open now" was estimated at a few dozen
        # sites in the box and planned as a full scan and sort.
        # A site has weekly minutes or dated open ranges (service/directory/hours.py), never
        # both: coalesce() stops at the weekly answer, so the weekly case costs what it did.
        clauses.append(
            "coalesce(s.open_week_minutes @> fieldnav_week_minute(:open_at, s.timezone),"
            " s.open_ranges @> CAST(:open_at AS timestamptz), false)"
        )
        params["open_at"] = query.open_at
    where = _Where(
        indexed=" AND ".join(clauses + indexed),
        per_row=" AND ".join(clauses + [f"({clause}) IS TRUE" for clause in indexed]),
        cell=" AND ".join(cell),
        index_choice=bool(indexed),
    )
    return where, params


@lru_cache(maxsize=512)
def _nearest_statement(where: _Where) -> TextClause:
    """Both rankings in one statement (one round trip); each keeps its own index scans and
    LIMIT. A handful of filter combinations exist, each statement is built once (text()
    parses its SQL every time)."""
    return text(f"({_public_sql(where)}) UNION ALL ({_confidential_sql(where)})")


# The point is written out in each place rather than taken from a CTE: only an ORDER BY
# against a value known at scan time lets the GiST index return rows nearest first.
_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
# spatial.geodesy's constants as SQL literals (code constants, never input).
_LAT_M, _LON_M = repr(MIN_METRES_PER_DEG_LAT), repr(METRES_PER_DEG_LON_AT_EQUATOR)
_OVERSIZE, _UNDERSIZE, _MAX_LAT = repr(BOX_OVERSIZE), repr(DISTANCE_UNDERSIZE), repr(MAX_BOX_LAT_DEG)


def _box_around(radius_m: str) -> str:
    """A box holding the circle of ``radius_m`` (an SQL expression) around the point: the
    same over-sizing rule as spatial.geodesy.box_half_sizes_deg."""
    return (
        f"ST_Expand({_POINT}, "
        f"{radius_m} / ({_LON_M} * cos(radians(least({_MAX_LAT}, "
        f"abs(:lat) + {radius_m} / {_LAT_M} * {_OVERSIZE})))) * {_OVERSIZE}, "
        f"{radius_m} / {_LAT_M} * {_OVERSIZE})"
    )


# The fewest metres a degree of the planar walk can be near the point (a degree of
# longitude at the walk's farthest latitude, or of latitude at the equator, whichever is
# less), less 1% for the spheroid and for a geodesic being shorter than its parallel.
def _min_metres(walked_deg: str) -> str:
    return (
        f"{walked_deg} * least({_LAT_M}, {_LON_M} * cos(radians(least({_MAX_LAT}, abs(:lat) + {walked_deg})))) "
        f"* {_UNDERSIZE}"
    )


def _public_sql(where: _Where) -> str:
    """Public sites by exact geodesic distance. Each part's CTEs have their own names, so
    both parts fit in one statement."""
    return f"""
WITH public_candidates AS (
    SELECT s.card, s.service_id, s.location_id, s.geom, s.serves_geom,
           ST_Distance(s.geom::geography, {_POINT}::geography) AS distance_m,
           s.geom <-> {_POINT} AS walked_deg
    FROM service_site s
    WHERE NOT s.is_private AND s.geom && ST_Expand({_POINT}, :dx_deg, :dy_deg) AND {where.indexed}
    ORDER BY s.geom <-> {_POINT}
    LIMIT :over_fetch
),
public_reach AS (
    SELECT count(*) AS found, max(walked_deg) AS walked_deg,
           (array_agg(distance_m ORDER BY distance_m))[CAST(:limit AS integer)] AS kth_m
    FROM public_candidates
),
-- A second pass only when the walk stopped short (4k candidates) and cannot prove that no
-- site beyond it is nearer than the k-th candidate.
public_plan AS (
    SELECT found = :over_fetch AND {_min_metres("walked_deg")} <= kth_m AS second_pass,
           least(kth_m, CAST(:max_distance_m AS float8)) AS radius_m
    FROM public_reach
),
public_ranked AS (
    SELECT c.card, c.service_id, c.location_id, c.geom, c.serves_geom, c.distance_m
    FROM public_candidates c
    WHERE NOT (SELECT second_pass FROM public_plan) AND c.distance_m <= :max_distance_m
    UNION ALL
    SELECT s.card, s.service_id, s.location_id, s.geom, s.serves_geom, d.distance_m
    FROM public_plan p
    JOIN service_site s ON s.geom && {_box_around("p.radius_m")}
    CROSS JOIN LATERAL (SELECT ST_Distance(s.geom::geography, {_POINT}::geography) AS distance_m) d
    WHERE p.second_pass AND NOT s.is_private AND {where.per_row} AND d.distance_m <= p.radius_m
)
SELECT card, distance_m, degrees(ST_Azimuth({_POINT}::geography, geom::geography)) AS bearing_deg,
       {serves.location_sql("serves_geom")} AS serves_location
FROM public_ranked
ORDER BY distance_m, service_id, location_id
LIMIT :limit
"""


def _confidential_sql(where: _Where) -> str:
    """Confidential sites by the distance to their cell centre, whole km rounded up, ties by
    (service_id, location_id). Every confidential site of a cell shares its centre, so both
    passes go cell by cell (private_cell, migration 0007), nearest first, and take at most
    so many matches from each, in key order from service_site_private_by_cell."""
    return f"""
WITH private_candidates AS (
    SELECT c.distance_m
    FROM (SELECT c.centre, ST_Distance(c.centre::geography, {_POINT}::geography) AS distance_m
          FROM private_cell c
          WHERE c.centre && ST_Expand({_POINT}, :dx_deg, :dy_deg) AND {where.cell}
          ORDER BY c.centre <-> {_POINT}) c
    CROSS JOIN LATERAL (
        SELECT 1 FROM service_site s
        WHERE s.is_private AND s.coarse_geom = c.centre AND {where.per_row}
        LIMIT :over_fetch
    ) x
    LIMIT :over_fetch
),
-- The k-th candidate (or the farthest, when there are fewer) bounds the answer. Rounding up
-- to whole km keeps the order, but ties must be broken the same way for everyone, so the
-- second pass keeps every cell within the rounded reach (no candidate: radius 0).
private_reach AS (
    SELECT least(coalesce(ceil(coalesce((array_agg(distance_m ORDER BY distance_m))[CAST(:limit AS integer)],
                                        max(distance_m)) / 1000.0) * 1000.0, 0),
                 CAST(:max_distance_m AS float8)) AS radius_m
    FROM private_candidates
),
private_cells AS (
    SELECT c.centre, d.distance_m
    FROM private_reach r
    JOIN private_cell c ON c.centre && {_box_around("r.radius_m")}
    CROSS JOIN LATERAL (SELECT ST_Distance(c.centre::geography, {_POINT}::geography) AS distance_m) d
    WHERE {where.cell} AND d.distance_m <= r.radius_m
)
SELECT x.card, ceil(c.distance_m / 1000.0) * 1000.0 AS distance_m, NULL::float8 AS bearing_deg,
       x.serves_location
FROM private_cells c
CROSS JOIN LATERAL (
    SELECT s.card, s.service_id, s.location_id, {serves.location_sql("s.serves_geom")} AS serves_location
    FROM service_site s
    WHERE s.is_private AND s.coarse_geom = c.centre AND {where.per_row}
    ORDER BY s.service_id, s.location_id
    LIMIT :limit
) x
ORDER BY 2, x.service_id, x.location_id
LIMIT :limit
"""


@dataclass(frozen=True)
class SiteHit:
    card: dict
    distance_m: float
    bearing_deg: float | None
    serves_location: str  # 'yes', 'no' or 'unknown' (service/areas/serves.py)


@contextmanager
def _planning(connection: Connection, where: _Where) -> Iterator[None]:
    """With an index choice, run the statement unprepared, so PostgreSQL plans it with the
    values at hand every time. psycopg prepares a statement from its 6th run on a connection,
    and PostgreSQL then moves a prepared statement to a generic plan after 5 more runs when it
    looks no costlier. With a category or language test, only the values tell a filter that
    matches a few sites in the 200 km box (intersect the GIN posting lists with the box) from
    one that matches many (walk the KNN index a few hundred sites); the generic plan always
    walks: 474 ms instead of 5 for a filter that matches nothing in Toronto at 100k services.

    Without such a test the plan is a KNN walk whatever the values, and a prepared statement
    saves parsing and planning this long statement: 2.3 ms instead of 5.6 per query with no
    filter at 100k services (bench/README.md)."""
    if not where.index_choice:
        yield
        return
    driver = db.driver_connection(connection)
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None  # psycopg: never prepare
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def find_nearest(connection: Connection, query: NearestQuery) -> list[SiteHit]:
    """Public sites by exact geodesic distance merged with confidential ones by coarse
    distance; at most ``query.limit``."""
    where, params = _filters(query)
    dx_deg, dy_deg = box_half_sizes_deg(query.lat, query.max_distance_m)
    params.update(
        lat=query.lat,
        lon=query.lon,
        limit=query.limit,
        over_fetch=query.limit * OVER_FETCH,
        max_distance_m=query.max_distance_m,
        dx_deg=dx_deg,
        dy_deg=dy_deg,
        **serves.point_params(query.serves or (query.lat, query.lon)),
    )
    with _planning(connection, where):
        rows = connection.execute(_nearest_statement(where), params).all()
    hits = [
        SiteHit(
            row.card,
            float(row.distance_m),
            None if row.bearing_deg is None else float(row.bearing_deg),
            row.serves_location,
        )
        for row in rows
    ]
    hits.sort(key=lambda hit: (hit.distance_m, hit.card["service_id"], hit.card["location_id"]))
    return hits[: query.limit]
